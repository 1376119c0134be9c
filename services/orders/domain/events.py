"""Immutable records of what happened to an order, and the commands it sends to payments.

The envelope (event_id, occurred_at, correlation and causation ids) is added where the
records leave the domain; here every record only names its order.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.orders.domain.money import Money


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Money

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: str
    customer_email: str
    shipping_country: str
    lines: tuple[OrderLine, ...]
    total: Money


@dataclass(frozen=True, slots=True)
class InventoryReserved:
    order_id: str


@dataclass(frozen=True, slots=True)
class InventoryRejected:
    order_id: str
    reason: str = "out of stock"


@dataclass(frozen=True, slots=True)
class PaymentAuthorized:
    order_id: str
    authorization_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class PaymentDeclined:
    order_id: str
    reason: str = "declined"


@dataclass(frozen=True, slots=True)
class PaymentCaptured:
    order_id: str
    authorization_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class PaymentVoided:
    order_id: str
    authorization_id: str


@dataclass(frozen=True, slots=True)
class FraudCheckPassed:
    order_id: str
    score: int = 0


@dataclass(frozen=True, slots=True)
class FraudCheckSkipped:
    order_id: str


@dataclass(frozen=True, slots=True)
class OrderFlaggedForReview:
    order_id: str
    score: int = 0
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderConfirmed:
    order_id: str
    total: Money


@dataclass(frozen=True, slots=True)
class OrderPutOnHold:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OrderReviewApproved:
    order_id: str
    reviewer: str


@dataclass(frozen=True, slots=True)
class OrderReviewRejected:
    order_id: str
    reviewer: str
    reason: str


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class LateReplyIgnored:
    order_id: str
    reply_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class AuthorizePayment:
    order_id: str
    amount: Money
    customer_email: str
    payment_token: str


@dataclass(frozen=True, slots=True)
class CapturePayment:
    order_id: str
    authorization_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class VoidPayment:
    order_id: str
    authorization_id: str


Reply = (
    InventoryReserved
    | InventoryRejected
    | PaymentAuthorized
    | PaymentDeclined
    | PaymentCaptured
    | PaymentVoided
    | FraudCheckPassed
    | FraudCheckSkipped
    | OrderFlaggedForReview
)
"""Events other services put on the bus about an order; the order stream records them."""

Event = (
    OrderPlaced
    | Reply
    | OrderConfirmed
    | OrderPutOnHold
    | OrderReviewApproved
    | OrderReviewRejected
    | OrderCancelled
    | LateReplyIgnored
)
PaymentCommand = AuthorizePayment | CapturePayment | VoidPayment

REPLY_TYPES: tuple[type[Reply], ...] = (
    InventoryReserved,
    InventoryRejected,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentCaptured,
    PaymentVoided,
    FraudCheckPassed,
    FraudCheckSkipped,
    OrderFlaggedForReview,
)
