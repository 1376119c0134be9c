"""The orders HTTP API (FastAPI), everything under ``/api``.

``create_app`` only assembles routers around what it is given; ``services.orders.bootstrap.api``
builds it for every entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from services.orders.adapters.operations_log import SqlOperationsLog
from services.orders.adapters.queue_operations import QueueOperations
from services.orders.adapters.summaries import OrderSummaries
from services.orders.api.health import Check, health_router
from services.orders.api.limits import BodySizeLimit
from services.orders.api.operations import operations_router
from services.orders.api.orders import orders_router
from services.orders.api.outbox import outbox_router
from services.orders.api.problems import install_problem_handlers
from services.orders.api.projections import projections_router
from services.orders.api.rate_limits import PlacementRateLimit, RateLimits
from services.orders.ports import Outbox
from services.orders.service import OrderService
from shared.operators import Operators

DOCS_ASSETS = "/api/docs-assets"


def create_app(
    service: OrderService,
    summaries: OrderSummaries,
    operations_log: SqlOperationsLog,
    outbox: Outbox,
    *,
    operators: Operators,
    rate_limits: RateLimits,
    currency: str,
    health_checks: Mapping[str, Check],
    operations: QueueOperations | None = None,
) -> FastAPI:
    """The orders API for customers and ``operators``, each within ``rate_limits``; the read
    model's set-aside events and the parked outbox records under ``/api/ops`` always, the
    stack's queues and alarms there when ``operations`` is given."""
    app = FastAPI(
        title="Orders API",
        summary="Event-sourced orders: place, follow, cancel and review orders.",
        version="1.0.0",
        docs_url=None,
        openapi_url="/api/openapi.json",
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,
    )
    install_problem_handlers(app)
    _serve_docs_offline(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(PlacementRateLimit, limits=rate_limits)  # the outer one: before the body
    app.include_router(
        orders_router(
            service, summaries, operators=operators, limits=rate_limits, currency=currency
        )
    )
    app.include_router(health_router(health_checks))
    app.include_router(projections_router(operators, rate_limits, summaries))
    app.include_router(outbox_router(operators, rate_limits, outbox, operations_log))
    if operations is not None:
        app.include_router(operations_router(operators, rate_limits, operations, operations_log))
    _parameters_are_never_null(app)
    return app


def _parameters_are_never_null(app: FastAPI) -> None:
    """Declare an optional query or header parameter as its format alone: a client leaves it out,
    it cannot send a null (FastAPI declares ``T | None`` as ``anyOf: [T, null]``)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        for path in document["paths"].values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    parameter["schema"] = _without_null(parameter["schema"])
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**rest, **options[0]}


def _serve_docs_offline(app: FastAPI) -> None:
    """Swagger UI at ``/api/docs`` from assets shipped in a wheel, so it works with no network."""
    app.mount(
        DOCS_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets"
    )

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Orders API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
