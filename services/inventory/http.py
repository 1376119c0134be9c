"""The catalogue with live stock, for the frontend: a Lambda function URL (payload 2.0).

Entry point ``services.inventory.http.handler``, behind CloudFront at ``/api/catalogue*``:
``GET /api/catalogue`` lists every product, ``GET /api/catalogue/{sku}`` one product. Errors
are ``application/problem+json`` (RFC 9457). Responses may be cached for a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from pydantic import Field
from sqlalchemy import Engine

from services.inventory.adapters import metadata, seeded_stock
from services.inventory.domain import StockedProduct
from shared.function_url import FunctionUrlLambda, ReaderSettings

CATALOGUE = "/api/catalogue"
WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


class CatalogueSettings(ReaderSettings):
    catalogue_max_age_seconds: int = Field(default=5, ge=0)


def product_json(product: StockedProduct) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "prices": dict(product.prices),
        "available": product.available,
    }


def problem(status: HTTPStatus, detail: str, **headers: str) -> Response[str]:
    body = {"type": "about:blank", "title": status.phrase, "status": status.value, "detail": detail}
    return Response(
        status_code=status.value,
        content_type="application/problem+json",
        body=json.dumps(body),
        headers={"Cache-Control": "no-store", **headers},
    )


def routes(settings: CatalogueSettings, engine: Engine) -> LambdaFunctionUrlResolver:
    stock = seeded_stock(engine)
    app = LambdaFunctionUrlResolver()
    cache_control = f"public, max-age={settings.catalogue_max_age_seconds}"

    def ok(body: Any) -> Response[str]:
        return Response(
            status_code=HTTPStatus.OK.value,
            content_type="application/json",
            body=json.dumps(body),
            headers={"Cache-Control": cache_control},
        )

    @app.get(CATALOGUE)
    def list_products() -> Response[str]:
        return ok([product_json(product) for product in stock.products()])

    @app.get(f"{CATALOGUE}/<sku>")
    def get_product(sku: str) -> Response[str]:
        product = stock.product(sku)
        if product is None:
            return problem(HTTPStatus.NOT_FOUND, f"no product with SKU {sku!r}")
        return ok(product_json(product))

    def read_only(path: str) -> Callable[..., Response[str]]:
        def method_not_allowed(**_: str) -> Response[str]:
            method = app.current_event.request_context.http.method
            return problem(
                HTTPStatus.METHOD_NOT_ALLOWED, f"{method} {path} is not allowed", Allow="GET"
            )

        return method_not_allowed

    app.route(CATALOGUE, method=WRITE_METHODS)(read_only(CATALOGUE))
    app.route(f"{CATALOGUE}/<sku>", method=WRITE_METHODS)(read_only(f"{CATALOGUE}/{{sku}}"))

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return problem(HTTPStatus.NOT_FOUND, f"nothing at {app.current_event.path}")

    return app


handler = FunctionUrlLambda(settings=CatalogueSettings, tables=metadata, routes=routes)
