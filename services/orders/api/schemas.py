"""Request and response bodies of the orders API (types and formats only; the domain checks the
rules). Every text a client sends is ``Text``: control characters are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from services.orders.api.formats import CONTROL_CHARACTERS, Text, schema_pattern
from services.orders.domain.model import COUNTRY_CODES, EMAIL_PATTERN, PAYMENT_TOKEN
from services.orders.domain.money import KNOWN_CURRENCIES

EMAIL_SCHEMA: JsonDict = {
    "pattern": schema_pattern(EMAIL_PATTERN).replace(r"[^@\s]", rf"[^@\s{CONTROL_CHARACTERS}]")
}
"""What the domain takes for an e-mail address (refused by the domain with 422 Invalid order),
without the control characters ``Text`` refuses."""


def _integral_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, BeforeValidator(_integral_number)]
"""An integer, written ``2`` or ``2.0`` (JSON Schema's integer); ``2.5`` and ``"2"`` are refused."""


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LineIn(Request):
    sku: Text = Field(min_length=1, max_length=64, examples=["MUG-001"])
    quantity: Count = Field(gt=0, le=10_000, examples=[2])


class PlaceOrderIn(Request):
    customer_email: Text = Field(
        min_length=3, max_length=254, examples=["ada@example.com"], json_schema_extra=EMAIL_SCHEMA
    )
    shipping_country: Text = Field(
        min_length=2,
        max_length=2,
        description="ISO 3166-1 alpha-2",
        examples=["DE"],
        json_schema_extra={"enum": list[JsonValue](sorted(COUNTRY_CODES))},
    )
    currency: Text | None = Field(
        default=None,
        min_length=3,
        max_length=3,
        description="ISO 4217; the service's currency when left out",
        examples=["EUR"],
        json_schema_extra={"enum": list[JsonValue]([*sorted(KNOWN_CURRENCIES), None])},
    )
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    payment_token: Text = Field(
        min_length=1,
        max_length=64,
        examples=["tok_approve"],
        json_schema_extra={"pattern": schema_pattern(PAYMENT_TOKEN)},
    )


class CancelIn(Request):
    reason: Text = Field(default="cancelled by customer", min_length=1, max_length=500)


class ReviewIn(Request):
    decision: Literal["approve", "reject"]
    reviewer: Text | None = Field(
        default=None,
        max_length=200,
        description="Ignored: the review records the operator whose credential sent it.",
        deprecated=True,
    )
    reason: Text = Field(default="rejected on review", min_length=1, max_length=500)


class MoneyOut(BaseModel):
    amount: int = Field(description="minor units")
    currency: str


class LineOut(BaseModel):
    sku: str
    quantity: int
    unit_price: MoneyOut
    subtotal: MoneyOut


class OrderOut(BaseModel):
    order_id: str
    status: str
    version: int
    customer_email: str
    shipping_country: str
    lines: list[LineOut]
    item_count: int
    total: MoneyOut
    stock: str
    payment: str
    fraud: str
    cancel_reason: str | None
    placed_at: datetime
    updated_at: datetime


class PlacedOrderOut(OrderOut):
    access_token: str | None = Field(
        description="The order's access token: send it as `Authorization: Bearer <token>` to"
        " read, follow and cancel the order. Returned once, by the request that placed the"
        " order: the service keeps only its SHA-256, so an idempotent replay answers null."
    )
    access_note: str = Field(description="What to do with `access_token` (or why it is null)")


class OrderSummaryOut(BaseModel):
    order_id: str
    status: str
    total: MoneyOut
    item_count: int
    customer_email: str
    shipping_country: str
    version: int
    placed_at: datetime
    updated_at: datetime
    final_at: datetime | None


class OrderPageOut(BaseModel):
    items: list[OrderSummaryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class TimelineEntryOut(BaseModel):
    position: int
    version: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    event_id: UUID
    causation_id: UUID | None
    correlation_id: str | None
    occurred_at: datetime | None
    recorded_at: datetime


class TimelineOut(BaseModel):
    order_id: str
    events: list[TimelineEntryOut]


class CheckOut(BaseModel):
    status: Literal["ok", "unavailable"]
    detail: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, CheckOut]
