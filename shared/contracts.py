"""Wire schemas (version 1) of every message, and where each kind travels.

Producers validate a payload before they send it and consumers after they receive it, with
the same models, so a message that does not match its schema is refused at both ends with a
``MalformedMessage`` that names the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.envelope import Envelope, MalformedMessage
from shared.settings import problems_of

OrderId = Annotated[str, Field(min_length=1, max_length=200)]
Sku = Annotated[str, Field(min_length=1, max_length=64)]


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(Contract):
    amount: int
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class OrderLine(Contract):
    sku: Sku
    quantity: int = Field(gt=0)
    unit_price: Money


class OrderPlaced(Contract):
    order_id: OrderId
    customer_email: str = Field(min_length=3, max_length=254)
    shipping_country: str = Field(pattern=r"^[A-Z]{2}$")
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    total: Money


class OrderConfirmed(Contract):
    order_id: OrderId
    total: Money


class OrderPutOnHold(Contract):
    order_id: OrderId
    reason: str


class OrderReviewApproved(Contract):
    order_id: OrderId
    reviewer: str


class OrderReviewRejected(Contract):
    order_id: OrderId
    reviewer: str
    reason: str


class OrderCancelled(Contract):
    order_id: OrderId
    reason: str


class LateReplyIgnored(Contract):
    order_id: OrderId
    reply_type: str
    reason: str


class AuthorizePayment(Contract):
    order_id: OrderId
    amount: Money
    customer_email: str
    payment_token: str = Field(min_length=1, max_length=64)


class CapturePayment(Contract):
    order_id: OrderId
    authorization_id: str
    amount: Money


class VoidPayment(Contract):
    order_id: OrderId
    authorization_id: str


class InventoryReserved(Contract):
    order_id: OrderId


class InventoryRejected(Contract):
    order_id: OrderId
    reason: str = "out of stock"
    short_skus: tuple[Sku, ...] = ()


class PaymentAuthorized(Contract):
    order_id: OrderId
    authorization_id: str
    amount: Money


class PaymentDeclined(Contract):
    order_id: OrderId
    reason: str = "declined"


class PaymentCaptured(Contract):
    order_id: OrderId
    authorization_id: str
    amount: Money


class PaymentVoided(Contract):
    order_id: OrderId
    authorization_id: str


class FraudCheckPassed(Contract):
    order_id: OrderId
    score: int = Field(default=0, ge=0, le=100)


class FraudCheckSkipped(Contract):
    order_id: OrderId


class OrderFlaggedForReview(Contract):
    order_id: OrderId
    score: int = Field(default=0, ge=0, le=100)
    reasons: tuple[str, ...] = ()


ORDER_EVENTS: tuple[type[Contract], ...] = (
    OrderPlaced,
    OrderConfirmed,
    OrderPutOnHold,
    OrderReviewApproved,
    OrderReviewRejected,
    OrderCancelled,
    LateReplyIgnored,
)
"""The orders service's own events: to the SNS topic (fan-out) and to the bus."""

PAYMENT_COMMANDS: tuple[type[Contract], ...] = (AuthorizePayment, CapturePayment, VoidPayment)
"""Commands to the payments FIFO queue (message group = order id)."""

REPLY_SOURCES: dict[type[Contract], str] = {
    InventoryReserved: "shop.inventory",
    InventoryRejected: "shop.inventory",
    PaymentAuthorized: "shop.payments",
    PaymentDeclined: "shop.payments",
    PaymentCaptured: "shop.payments",
    PaymentVoided: "shop.payments",
    FraudCheckPassed: "shop.fraud",
    OrderFlaggedForReview: "shop.fraud",
    FraudCheckSkipped: "shop.orders",
}
"""Replies to the orders service, with the bus source of the service that puts them there
(FraudCheckSkipped is written by the ``fraud-fast-pass`` rule from an ``shop.orders`` event)."""

ORDERS_SOURCE = "shop.orders"

SCHEMAS: dict[str, type[Contract]] = {
    model.__name__: model for model in (*ORDER_EVENTS, *PAYMENT_COMMANDS, *REPLY_SOURCES)
}
"""Every message type by name, as it appears in the envelope's ``type``."""


def payload_of(envelope: Envelope, *expected: type[Contract]) -> Contract:
    """The envelope's payload as its schema; ``expected`` limits the types a consumer takes."""
    schema = SCHEMAS.get(envelope.type)
    if schema is None:
        raise MalformedMessage(f"unknown message type {envelope.type!r} ({envelope.event_id})")
    if expected and schema not in expected:
        names = ", ".join(model.__name__ for model in expected)
        raise MalformedMessage(
            f"{envelope.type} {envelope.event_id} is not a message this consumer takes ({names})"
        )
    if envelope.version != 1:
        raise MalformedMessage(
            f"{envelope.type} {envelope.event_id}: unsupported schema version {envelope.version}"
        )
    try:
        payload = schema.model_validate(envelope.payload)
    except ValidationError as error:
        problems = "; ".join(f"{where}: {message}" for where, message in problems_of(error))
        raise MalformedMessage(
            f"{envelope.type} {envelope.event_id}: invalid payload: {problems}"
        ) from error
    order_id = getattr(payload, "order_id", None)
    if order_id is not None and order_id != envelope.correlation_id:
        raise MalformedMessage(
            f"{envelope.type} {envelope.event_id}: payload order {order_id!r} differs from "
            f"correlation id {envelope.correlation_id!r}"
        )
    return payload


def envelope_for(
    payload: Contract, *, cause: Envelope | None = None, correlation_id: str | None = None
) -> Envelope:
    """A new envelope around ``payload``: caused by ``cause`` or starting a correlation."""
    body: dict[str, Any] = payload.model_dump(mode="json")
    type_name = type(payload).__name__
    if cause is not None:
        return cause.caused(type_name, body)
    correlation = correlation_id or body.get("order_id")
    if not correlation:
        raise ValueError(f"{type_name} needs a correlation id")
    return Envelope(type=type_name, correlation_id=correlation, payload=body)
