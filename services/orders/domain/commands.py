"""What customers and reviewers ask of an order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    order_id: str
    customer_email: str
    shipping_country: str
    currency: str
    lines: tuple[LineRequest, ...]
    payment_token: str


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: str
    reason: str = "cancelled by customer"


@dataclass(frozen=True, slots=True)
class ApproveReview:
    order_id: str
    reviewer: str


@dataclass(frozen=True, slots=True)
class RejectReview:
    order_id: str
    reviewer: str
    reason: str = "rejected on review"


OrderCommand = PlaceOrder | CancelOrder | ApproveReview | RejectReview
