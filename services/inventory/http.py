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

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.inventory.store import InventoryStore, StockedProduct
from shared.catalogue import load_catalogue
from shared.consumer import LambdaHandler, LazyHandler
from shared.database import create_engine_for
from shared.settings import load

CATALOGUE = "/api/catalogue"
WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


class CatalogueSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(min_length=1)
    catalogue_max_age_seconds: int = Field(default=5, ge=0)
    service_name: str = Field(
        default="inventory", min_length=1, validation_alias="POWERTOOLS_SERVICE_NAME"
    )


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


def build_handler(settings: CatalogueSettings) -> LambdaHandler:
    """The composition root: tables created and stock seeded once per cold start."""
    store = InventoryStore(create_engine_for(settings.database_url))
    store.create_tables()
    store.seed(load_catalogue())
    logger = Logger(service=settings.service_name)
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
        return ok([product_json(product) for product in store.products()])

    @app.get(f"{CATALOGUE}/<sku>")
    def get_product(sku: str) -> Response[str]:
        product = store.product(sku)
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

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.debug("catalogue request", extra={"path": event.get("rawPath")})
        return app.resolve(event, context)

    return handle


handler = LazyHandler(lambda: build_handler(load(CatalogueSettings)))
