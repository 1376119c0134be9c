"""Names of one analytics test that no other test uses, so its figures are its own, the order
events it sends and the figures they left."""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from services.analytics import adapters
from shared.consumer import ConsumerSettings
from shared.contracts import (
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderPutOnHold,
    payload_of,
)
from shared.contracts import envelope_for as envelope_of
from shared.envelope import Envelope
from shared.tests.aws_events import LambdaContextDouble


@dataclass
class Scenario:
    """A currency, a SKU and a cancellation reason of its own, and the orders it made."""

    currency: str = field(
        default_factory=lambda: "Q" + "".join(random.choices(string.ascii_uppercase, k=2))  # nosec B311  # test data
    )
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    orders: list[str] = field(default_factory=list)

    @property
    def sku(self) -> str:
        return f"SKU-{self.tag}"

    @property
    def reason(self) -> str:
        return f"reason {self.tag}"

    def order_id(self) -> str:
        order_id = f"ord-{uuid.uuid4().hex}"
        self.orders.append(order_id)
        return order_id


QUEUE = "analytics"
CONTEXT = LambdaContextDouble("analytics")


def settings(database_url: str) -> ConsumerSettings:
    return ConsumerSettings(
        database_url=database_url, event_bus_name="unused-by-analytics", service_name="analytics"
    )


def placed(scenario: Scenario, quantity: int = 2, price: int = 1500) -> Envelope:
    unit = Money(amount=price, currency=scenario.currency)
    return envelope_of(
        OrderPlaced(
            order_id=scenario.order_id(),
            customer_email="ada@example.com",
            shipping_country="FR",
            lines=(OrderLine(sku=scenario.sku, quantity=quantity, unit_price=unit),),
            total=Money(amount=price * quantity, currency=scenario.currency),
        )
    )


def confirmed(order: Envelope) -> Envelope:
    total = payload_of(order).total  # type: ignore[attr-defined]
    return order.caused(
        "OrderConfirmed",
        OrderConfirmed(order_id=order.correlation_id, total=total).model_dump(mode="json"),
    )


def cancelled(order: Envelope, reason: str) -> Envelope:
    return order.caused(
        "OrderCancelled",
        OrderCancelled(order_id=order.correlation_id, reason=f"{reason}: details").model_dump(),
    )


def held(order: Envelope) -> Envelope:
    return order.caused(
        "OrderPutOnHold",
        OrderPutOnHold(order_id=order.correlation_id, reason="flagged").model_dump(),
    )


def snapshot(engine: Engine, scenario: Scenario) -> dict[str, Any]:
    """This scenario's figures: all its rows are its own (unique currency, SKU, reason)."""
    with engine.connect() as connection:
        minute_rows = connection.execute(
            select(adapters.minutes).where(adapters.minutes.c.currency == scenario.currency)
        ).all()
        sku_rows = connection.execute(
            select(adapters.skus).where(adapters.skus.c.sku == scenario.sku)
        ).all()
        reason = connection.execute(
            select(adapters.cancellations.c.occurrences).where(
                adapters.cancellations.c.reason == scenario.reason
            )
        ).scalar_one_or_none()
        processed = connection.execute(
            select(adapters.processed_events.c.event_type).where(
                adapters.processed_events.c.order_id.in_(scenario.orders)
            )
        ).scalars()
        processed_types = sorted(processed)
    return {
        "minutes": sorted(
            (row.placed, row.placed_value, row.confirmed, row.revenue, row.cancelled)
            for row in minute_rows
        ),
        "skus": [(row.units, row.orders, row.revenue) for row in sku_rows],
        "cancellations": reason,
        "processed": processed_types,
    }
