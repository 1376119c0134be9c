"""``/api/orders``: place, read, list, cancel and review orders.

Handlers are thin: they parse the request, call ``OrderService`` (writes, authoritative reads
from the stream) or the summary read model (lists), and shape the answer. Publishing is the
outbox relay's job: the API only appends. Who may call what is ``services.orders.api.access``:
an order's customer (its access token) reads, follows and cancels it; operators list orders,
read any and review them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from services.orders.adapters.summaries import OrderSummaries
from services.orders.api.access import customer_guard, operator_guard, reader_guard
from services.orders.api.formats import (
    CursorQuery,
    IdempotencyKeyHeader,
    IfMatchHeader,
    OrderIdInPath,
    decode_cursor,
    encode_cursor,
    expected_version,
)
from services.orders.api.problems import (
    CUSTOMER_RESPONSES,
    OPERATOR_RESPONSES,
    PROBLEM_RESPONSES,
    RATE_LIMITED,
    READER_RESPONSES,
)
from services.orders.api.rate_limits import RateLimits
from services.orders.api.responses import order_document, placed_document, summary_document
from services.orders.api.schemas import (
    CancelIn,
    OrderOut,
    OrderPageOut,
    PlacedOrderOut,
    PlaceOrderIn,
    ReviewIn,
    TimelineEntryOut,
    TimelineOut,
)
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.domain.model import OrderStatus
from services.orders.service import OrderService
from shared.operators import Operator, Operators


def orders_router(
    service: OrderService,
    summaries: OrderSummaries,
    *,
    operators: Operators,
    limits: RateLimits,
    currency: str,
) -> APIRouter:
    """The routes under ``/api/orders``; ``limits`` bound what operators do (placements are
    bounded before they reach a route, by ``PlacementRateLimit``)."""
    router = APIRouter(prefix="/api/orders", tags=["orders"], responses=PROBLEM_RESPONSES)
    placed_order = {"order_id": "$response.body#/order_id"}
    require_operator = operator_guard(operators, limits)
    require_customer = customer_guard(service)
    require_reader = reader_guard(service, operators, limits)

    @router.post(
        "",
        status_code=201,
        response_model=PlacedOrderOut,
        summary="Place an order (prices come from the catalogue); answers its access token once",
        responses={
            201: {
                "description": "The order, with its access token",
                "headers": {
                    "RateLimit-Policy": {
                        "description": 'The placements a client may make: `"placements";q=N;w=1`'
                        " is N a second (also sent with every other answer to a placement)",
                        "schema": {"type": "string"},
                    }
                },
                "links": {
                    "GetOrder": {"operationId": "get_order", "parameters": placed_order},
                    "GetOrderEvents": {"operationId": "order_events", "parameters": placed_order},
                    "CancelOrder": {"operationId": "cancel_order", "parameters": placed_order},
                },
            },
            **RATE_LIMITED,
        },
    )
    def place_order(body: PlaceOrderIn, idempotency_key: IdempotencyKeyHeader = None) -> Any:
        command = PlaceOrder(
            order_id=service.new_order_id(),
            customer_email=body.customer_email,
            shipping_country=body.shipping_country,
            currency=body.currency or currency,
            lines=tuple(LineRequest(line.sku, line.quantity) for line in body.lines),
            payment_token=body.payment_token,
        )
        placement = service.place(
            command,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(body.model_dump(mode="json")),
        )
        headers = {
            "Location": f"/api/orders/{placement.order.order_id}",
            "Cache-Control": "no-store",
        }
        if placement.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(placed_document(placement), status_code=201, headers=headers)

    @router.get(
        "",
        response_model=OrderPageOut,
        summary="Every customer's orders, newest first (read model; operators only)",
        dependencies=[Depends(require_operator)],
        responses=OPERATOR_RESPONSES,
    )
    def list_orders(
        status: Annotated[
            OrderStatus | None, Query(description="only orders in this status")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: CursorQuery = None,
    ) -> Any:
        page = summaries.page(
            status=None if status is None else str(status),
            limit=limit,
            after=None if cursor is None else decode_cursor(cursor),
        )
        return {
            "items": [summary_document(summary) for summary in page.items],
            "next_cursor": None if page.next_cursor is None else encode_cursor(*page.next_cursor),
        }

    @router.get(
        "/{order_id}",
        response_model=OrderOut,
        summary="An order, from its event stream (its access token, or an operator's)",
        dependencies=[Depends(require_reader)],
        responses=READER_RESPONSES,
    )
    def get_order(order_id: OrderIdInPath, response: Response) -> Any:
        view = service.get(order_id)
        response.headers["ETag"] = f'"{view.state.version}"'
        response.headers["Cache-Control"] = "private, no-store"
        return order_document(view)

    @router.get(
        "/{order_id}/events",
        response_model=TimelineOut,
        summary="The order's event timeline (its access token, or an operator's)",
        dependencies=[Depends(require_reader)],
        responses=READER_RESPONSES,
    )
    def order_events(order_id: OrderIdInPath) -> Any:
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
        summary="Cancel an order before it is confirmed (again: no change; its access token)",
        dependencies=[Depends(require_customer)],
        responses=CUSTOMER_RESPONSES,
    )
    def cancel_order(
        order_id: OrderIdInPath, body: CancelIn | None = None, if_match: IfMatchHeader = None
    ) -> Any:
        reason = (body or CancelIn()).reason
        view = service.cancel(order_id, reason, expected_version=expected_version(if_match))
        return order_document(view)

    @router.post(
        "/{order_id}/review",
        response_model=OrderOut,
        summary="Approve or reject an order on hold (operators; recorded with their name)",
        responses=OPERATOR_RESPONSES,
    )
    def review_order(
        order_id: OrderIdInPath,
        body: ReviewIn,
        if_match: IfMatchHeader = None,
        operator: Operator = Depends(require_operator),  # noqa: B008 (a closure: no Annotated)
    ) -> Any:
        view = service.review(
            order_id,
            body.decision == "approve",
            operator.name,
            body.reason,
            expected_version=expected_version(if_match),
        )
        return order_document(view)

    return router


def request_fingerprint(body: Mapping[str, Any]) -> str:
    """A digest of a request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
