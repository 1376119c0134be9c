"""The analytics use cases on aggregates kept in memory: wire events to tallies, metrics once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.analytics import domain
from services.analytics.domain import Figures, MinuteFigures, OrderEvent, Tally, tally
from services.analytics.service import AnalyticsService, current_dashboard, fact_of
from shared.contracts import (
    LateReplyIgnored,
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    envelope_for,
    payload_of,
)
from shared.envelope import Envelope
from shared.tests.telemetry import RecordingTelemetry

NOW = datetime(2026, 11, 23, 17, 41, 37, tzinfo=UTC)


class FakeAggregates:
    def __init__(self) -> None:
        self.counted: dict[str, Tally] = {}
        self.since: list[datetime] = []

    def record(self, event: OrderEvent) -> Tally | None:
        if event.event_id in self.counted:
            return None
        self.counted[event.event_id] = tally(event.event_type, event.occurred_at, event.fact, None)
        return self.counted[event.event_id]

    def figures(self, since: datetime) -> Figures:
        self.since.append(since)
        row = MinuteFigures(since, "EUR", 1, 500, 0, 0, 0)
        return Figures((row,), (row,), (), {}, {})


PLACED = envelope_for(
    OrderPlaced(
        order_id="ord-1",
        customer_email="ada@example.com",
        shipping_country="DE",
        lines=(OrderLine(sku="MUG-001", quantity=2, unit_price=Money(amount=250, currency="EUR")),),
        total=Money(amount=500, currency="EUR"),
    )
)


def handle(service: AnalyticsService, envelope: Envelope) -> None:
    assert service.handle(envelope, payload_of(envelope)) == []


def test_the_wire_payloads_become_the_facts_of_the_domain() -> None:
    money = domain.Money(500, "EUR")
    assert fact_of(payload_of(PLACED)) == domain.OrderPlaced(
        "ord-1", (domain.OrderLine("MUG-001", 2, domain.Money(250, "EUR")),), money
    )
    total = Money(amount=500, currency="EUR")
    assert fact_of(OrderConfirmed(order_id="ord-1", total=total)) == domain.OrderConfirmed(money)
    assert fact_of(OrderCancelled(order_id="ord-1", reason="x")) == domain.OrderCancelled("x")
    late = LateReplyIgnored(order_id="ord-1", reply_type="X", reason="final")
    assert fact_of(late) is None


def test_an_event_is_counted_once_and_only_its_first_delivery_emits_metrics() -> None:
    aggregates, telemetry = FakeAggregates(), RecordingTelemetry()
    service = AnalyticsService(aggregates, telemetry)
    total = Money(amount=500, currency="EUR")
    confirmed = PLACED.caused(
        "OrderConfirmed", OrderConfirmed(order_id="ord-1", total=total).model_dump(mode="json")
    )

    for envelope in (PLACED, PLACED, confirmed):
        handle(service, envelope)

    assert list(aggregates.counted) == [str(PLACED.event_id), str(confirmed.event_id)]
    assert telemetry.counts == {"OrdersPlaced": 1, "OrdersConfirmed": 1}
    assert telemetry.measures == [("Revenue", 500, {"currency": "EUR"})]
    assert telemetry.messages("INFO") == ["event already counted"]


def test_the_dashboard_reads_the_figures_of_its_window() -> None:
    aggregates = FakeAggregates()

    board = current_dashboard(aggregates, NOW, window_minutes=3, top=5)

    assert aggregates.since == [datetime(2026, 11, 23, 17, 39, tzinfo=UTC)]
    assert [point["orders_placed"] for point in board["series"]] == [1, 0, 0]
    assert board["window_minutes"] == 3
    assert aggregates.since[0] + timedelta(minutes=2) == NOW.replace(second=0)
