# The orders service and the deploy tooling for docker-compose (the host path needs no image).
FROM python:3.11-slim

WORKDIR /app
COPY requirements/app.txt requirements/app.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/app.txt

COPY pyproject.toml ./
COPY shared shared
COPY services services
COPY infra infra
COPY frontend frontend
COPY requirements requirements

ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["python", "-m", "services.orders", "run", "--host", "0.0.0.0", "--port", "8000"]
