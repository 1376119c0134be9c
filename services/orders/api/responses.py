"""The JSON documents the API answers with: an order (``OrderOut``), a placed order with its
access token (``PlacedOrderOut``) and an order summary (``OrderSummaryOut``)."""

from __future__ import annotations

from typing import Any

from services.orders.adapters.summaries import OrderSummary
from services.orders.domain.money import Money
from services.orders.service import OrderView, Placement

TOKEN_NOTE = (  # nosec B105  # a note to the customer about the token, not a token
    "Keep this access token: it is shown only now. Send it as `Authorization: Bearer <token>`"
    " to read, follow or cancel this order."
)
REPLAY_NOTE = (
    "This answers a replay of an earlier placement (same Idempotency-Key and body): the access"
    " token was returned once, to that request. The service keeps only its SHA-256, so it"
    " cannot return it again."
)


def order_document(view: OrderView) -> dict[str, Any]:
    state, placed = view.state, view.placed
    return {
        "order_id": state.order_id,
        "status": str(state.status),
        "version": state.version,
        "customer_email": placed.customer_email,
        "shipping_country": placed.shipping_country,
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "subtotal": _money(line.subtotal),
            }
            for line in placed.lines
        ],
        "item_count": sum(line.quantity for line in placed.lines),
        "total": _money(placed.total),
        "stock": str(state.stock),
        "payment": str(state.payment),
        "fraud": str(state.fraud),
        "cancel_reason": state.cancel_reason,
        "placed_at": view.placed_at.isoformat(),
        "updated_at": view.updated_at.isoformat(),
    }


def placed_document(placement: Placement) -> dict[str, Any]:
    return {
        **order_document(placement.order),
        "access_token": placement.access_token,
        "access_note": REPLAY_NOTE if placement.access_token is None else TOKEN_NOTE,
    }


def summary_document(summary: OrderSummary) -> dict[str, Any]:
    return {
        "order_id": summary.order_id,
        "status": summary.status,
        "total": {"amount": summary.total_amount, "currency": summary.currency},
        "item_count": summary.item_count,
        "customer_email": summary.customer_email,
        "shipping_country": summary.shipping_country,
        "version": summary.version,
        "placed_at": summary.placed_at.isoformat(),
        "updated_at": summary.updated_at.isoformat(),
        "final_at": None if summary.final_at is None else summary.final_at.isoformat(),
    }


def _money(money: Money) -> dict[str, Any]:
    return {"amount": money.amount, "currency": money.currency}
