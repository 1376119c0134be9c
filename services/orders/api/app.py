"""The composition root of the orders API: ``create_app(settings)``.

Handlers are thin: they parse the request, call ``OrderService`` (writes, authoritative reads
from the stream) or the summary read model (lists), and shape the answer. Publishing is the
outbox relay's job: the API only appends.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text

from services.orders.adapters.migrations import migrate
from services.orders.api.limits import BodySizeLimit
from services.orders.api.operator import operator_guard
from services.orders.api.problems import (
    OPERATOR_RESPONSES,
    PROBLEM_RESPONSES,
    ApiProblem,
    install_problem_handlers,
)
from services.orders.api.schemas import (
    CancelIn,
    CheckOut,
    HealthOut,
    OrderOut,
    OrderPageOut,
    PlaceOrderIn,
    ReviewIn,
    TimelineEntryOut,
    TimelineOut,
)
from services.orders.application import OrderService, request_fingerprint
from services.orders.config import OrdersSettings
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.domain.model import OrderStatus
from services.orders.projections import list_summaries, run_projector
from shared import aws
from shared.database import create_engine_for
from shared.settings import AwsSettings

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
ETAG = re.compile(r'(?:W/)?"?(\d{1,9})"?')

DOCS_ASSETS = "/api/docs-assets"

EmulatorCheck = Callable[[], None]


def create_app(
    settings: OrdersSettings,
    *,
    migrate_database: bool = True,
    project_in_background: bool = True,
    emulator_check: EmulatorCheck | None = None,
    extra_routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """The orders API. By default it migrates the database first and keeps the order
    summaries projected in a background thread while it serves (several instances may do so:
    projectors take turns); ``emulator_check`` (raise when unreachable) defaults to SNS
    ``get_topic_attributes`` of ``settings.topic_arn``."""
    if migrate_database:
        migrate(settings.database_url)
    engine = create_engine_for(settings.database_url)
    service = OrderService.for_engine(engine)
    check_emulator = emulator_check or _sns_topic_check(settings.topic_arn)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        projector = threading.Thread(
            target=run_projector, args=(engine, stop), name="order-summaries", daemon=True
        )
        if project_in_background:
            projector.start()
        try:
            yield
        finally:
            stop.set()
            if projector.is_alive():
                projector.join(timeout=10)
            engine.dispose()

    app = FastAPI(
        title="Orders API",
        summary="Event-sourced orders: place, follow, cancel and review orders.",
        version="1.0.0",
        docs_url=None,
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    _serve_docs_offline(app)
    app.add_middleware(BodySizeLimit)
    app.include_router(_orders_router(settings, service, engine))
    app.include_router(_health_router(engine, check_emulator))
    for router in extra_routers:
        app.include_router(router)
    return app


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


def _orders_router(settings: OrdersSettings, service: OrderService, engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/orders", tags=["orders"], responses=PROBLEM_RESPONSES)
    require_operator = operator_guard(settings.operator_token)

    @router.post(
        "",
        status_code=201,
        response_model=OrderOut,
        summary="Place an order (prices come from the catalogue)",
    )
    def place_order(
        body: PlaceOrderIn,
        idempotency_key: Annotated[
            str | None,
            Header(
                description="Optional. The same key with the same body returns the first"
                " response again; with another body it is refused (422)."
            ),
        ] = None,
    ) -> Any:
        if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ApiProblem(
                400,
                "Malformed request",
                "Idempotency-Key must be 1-200 visible ASCII characters.",
            )
        command = PlaceOrder(
            order_id=service.new_order_id(),
            customer_email=body.customer_email,
            shipping_country=body.shipping_country,
            currency=body.currency or settings.currency,
            lines=tuple(LineRequest(line.sku, line.quantity) for line in body.lines),
            payment_token=body.payment_token,
        )
        placement = service.place(
            command,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(body.model_dump(mode="json")),
        )
        headers = {"Location": f"/api/orders/{placement.order['order_id']}"}
        if placement.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(placement.order, status_code=placement.status_code, headers=headers)

    @router.get("", response_model=OrderPageOut, summary="Orders, newest first (read model)")
    def list_orders(
        status: Annotated[
            OrderStatus | None, Query(description="only orders in this status")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(description="`next_cursor` of the page before")] = None,
    ) -> Any:
        page = list_summaries(
            engine,
            status=None if status is None else str(status),
            limit=limit,
            after=None if cursor is None else _decode_cursor(cursor),
        )
        return {
            "items": [summary.to_dict() for summary in page.items],
            "next_cursor": None if page.next_cursor is None else _encode_cursor(*page.next_cursor),
        }

    @router.get("/{order_id}", response_model=OrderOut, summary="An order, from its event stream")
    def get_order(order_id: str, response: Response) -> Any:
        view = service.get(order_id)
        response.headers["ETag"] = f'"{view.state.version}"'
        return view.to_dict()

    @router.get(
        "/{order_id}/events", response_model=TimelineOut, summary="The order's event timeline"
    )
    def order_events(order_id: str) -> Any:
        return {
            "order_id": order_id,
            "events": [
                TimelineEntryOut(
                    position=event.position,
                    version=event.version,
                    type=event.type,
                    schema_version=event.schema_version,
                    payload=dict(event.payload),
                    event_id=event.event_id,
                    causation_id=event.metadata.get("causation_id"),
                    correlation_id=event.metadata.get("correlation_id"),
                    occurred_at=event.metadata.get("occurred_at"),
                    recorded_at=event.recorded_at,
                )
                for event in service.history(order_id)
            ],
        }

    @router.post(
        "/{order_id}/cancel",
        response_model=OrderOut,
        summary="Cancel an order before it is confirmed (again: no change)",
    )
    def cancel_order(
        order_id: str,
        body: CancelIn | None = None,
        if_match: Annotated[
            str | None, Header(description="ETag of GET: refuse (409) if the order changed")
        ] = None,
    ) -> Any:
        reason = (body or CancelIn()).reason
        view = service.cancel(order_id, reason, expected_version=_expected_version(if_match))
        return view.to_dict()

    @router.post(
        "/{order_id}/review",
        response_model=OrderOut,
        summary="Approve or reject an order on hold (operator token)",
        dependencies=[Depends(require_operator)],
        responses=OPERATOR_RESPONSES,
    )
    def review_order(
        order_id: str,
        body: ReviewIn,
        if_match: Annotated[
            str | None, Header(description="ETag of GET: refuse (409) if the order changed")
        ] = None,
    ) -> Any:
        view = service.review(
            order_id,
            body.decision == "approve",
            body.reviewer,
            body.reason,
            expected_version=_expected_version(if_match),
        )
        return view.to_dict()

    return router


def _health_router(engine: Engine, check_emulator: EmulatorCheck) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["health"])

    @router.get(
        "/health",
        response_model=HealthOut,
        summary="Database and emulator reachability (503 when one is unavailable)",
        responses={503: {"model": HealthOut, "description": "a dependency is unavailable"}},
    )
    def health() -> Any:
        checks = {
            "database": _check(lambda: _ping_database(engine)),
            "emulator": _check(check_emulator),
        }
        healthy = all(check.status == "ok" for check in checks.values())
        body = HealthOut(status="ok" if healthy else "degraded", checks=checks)
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if healthy else 503)

    return router


def _check(probe: Callable[[], None]) -> CheckOut:
    try:
        probe()
    except Exception as error:  # any failure means unavailable; the reason is reported
        return CheckOut(status="unavailable", detail=f"{type(error).__name__}: {error}")
    return CheckOut(status="ok")


def _ping_database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _sns_topic_check(topic_arn: str) -> EmulatorCheck:
    def check() -> None:
        sns = aws.client("sns", AwsSettings(aws_max_attempts=1))
        sns.get_topic_attributes(TopicArn=topic_arn)

    return check


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    match = ETAG.fullmatch(if_match.strip())
    if match is None:
        raise ApiProblem(
            400,
            "Malformed request",
            f'If-Match {if_match!r} is not an order version ETag such as "3".',
        )
    return int(match.group(1))


def _encode_cursor(placed_at: datetime, order_id: str) -> str:
    raw = json.dumps([placed_at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        placed_at, order_id = json.loads(raw)
        return datetime.fromisoformat(placed_at), str(order_id)
    except (binascii.Error, ValueError, TypeError) as error:
        raise ApiProblem(
            400,
            "Malformed request",
            "cursor is not a `next_cursor` this API handed out.",
        ) from error
