"""Analytics' use cases: every order event counted once into the aggregates, with metrics for
the events that changed them, and the dashboard of the last minutes.

Besides the consumer's own metrics it publishes EMF metrics ``OrdersPlaced``,
``OrdersConfirmed``, ``OrdersCancelled`` (Count) and ``Revenue`` (confirmed totals in minor
units, dimension ``currency``), only for events that changed the aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from services.analytics import domain
from services.analytics.domain import Fact, Figures, OrderEvent, Tally, dashboard, minute_of
from shared import contracts
from shared.contracts import ORDER_EVENTS, Contract, OrderCancelled, OrderConfirmed, OrderPlaced
from shared.envelope import Envelope
from shared.observability import Telemetry


class Aggregates(Protocol):
    def record(self, event: OrderEvent) -> Tally | None:
        """Count the event once; its tally, or None when it was already counted."""
        ...

    def figures(self, since: datetime) -> Figures:
        """Per-minute figures from ``since`` on, and the all-time aggregates."""
        ...


class AnalyticsService:
    accepts = ORDER_EVENTS

    def __init__(self, aggregates: Aggregates, telemetry: Telemetry) -> None:
        self.aggregates = aggregates
        self.telemetry = telemetry

    def handle(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        result = self.aggregates.record(order_event(envelope, payload))
        if result is None:
            self.telemetry.info("event already counted")
            return []
        for name, value in (
            ("OrdersPlaced", result.placed),
            ("OrdersConfirmed", result.confirmed),
            ("OrdersCancelled", result.cancelled),
        ):
            if value:
                self.telemetry.count(name, value)
        if result.revenue:
            self.telemetry.measure("Revenue", result.revenue, currency=result.currency)
        return []


def current_dashboard(
    aggregates: Aggregates, now: datetime, window_minutes: int, top: int
) -> dict[str, Any]:
    """The dashboard of the ``window_minutes`` up to ``now``."""
    since = minute_of(now) - timedelta(minutes=window_minutes - 1)
    return dashboard(aggregates.figures(since), now, window_minutes, top)


def order_event(envelope: Envelope, payload: Contract) -> OrderEvent:
    """The domain's view of one delivery of an order event."""
    return OrderEvent(
        event_id=str(envelope.event_id),
        event_type=envelope.type,
        order_id=envelope.correlation_id,
        occurred_at=envelope.occurred_at,
        fact=fact_of(payload),
    )


def fact_of(payload: Contract) -> Fact | None:
    """What analytics reads from an order event's payload."""
    match payload:
        case OrderPlaced():
            return domain.OrderPlaced(
                order_id=payload.order_id,
                lines=tuple(
                    domain.OrderLine(line.sku, line.quantity, money(line.unit_price))
                    for line in payload.lines
                ),
                total=money(payload.total),
            )
        case OrderConfirmed():
            return domain.OrderConfirmed(money(payload.total))
        case OrderCancelled():
            return domain.OrderCancelled(payload.reason)
    return None


def money(amount: contracts.Money) -> domain.Money:
    return domain.Money(amount.amount, amount.currency)
