"""The orders HTTP API (FastAPI), everything under ``/api``; ``services.orders.bootstrap.api``
builds it."""
