"""The fraud use case on verdicts and a bus kept in memory: one verdict per OrderPlaced."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest

from services.fraud.domain import ScoringRules, assess
from services.fraud.service import FraudService, StoredVerdict, order_of, verdict_for
from shared.contracts import (
    FraudCheckPassed,
    Money,
    OrderFlaggedForReview,
    OrderLine,
    OrderPlaced,
    envelope_for,
    payload_of,
)
from shared.envelope import Envelope
from shared.tests.telemetry import RecordingTelemetry

WATCH = Money(amount=129_900, currency="EUR")


class FakeVerdicts:
    def __init__(self) -> None:
        self.stored: dict[uuid.UUID, StoredVerdict] = {}

    def find(self, event_id: uuid.UUID) -> StoredVerdict | None:
        return self.stored.get(event_id)

    def record(self, cause: Envelope, verdict: Envelope, score: int) -> StoredVerdict:
        return self.stored.setdefault(cause.event_id, StoredVerdict(verdict, published=False))

    def mark_published(self, event_id: uuid.UUID) -> None:
        self.stored[event_id] = StoredVerdict(self.stored[event_id].verdict, published=True)


class FakeBus:
    def __init__(self) -> None:
        self.published: list[Envelope] = []
        self.down = False

    def publish(self, replies: Sequence[Envelope]) -> None:
        if self.down:
            raise ConnectionError("bus unreachable")
        self.published.extend(replies)


def order(watches: int, country: str = "DE") -> OrderPlaced:
    return OrderPlaced(
        order_id="ord-1",
        customer_email="ada@example.com",
        shipping_country=country,
        lines=(OrderLine(sku="WATCH-006", quantity=watches, unit_price=WATCH),),
        total=Money(amount=WATCH.amount * watches, currency="EUR"),
    )


@pytest.fixture
def verdicts() -> FakeVerdicts:
    return FakeVerdicts()


@pytest.fixture
def bus() -> FakeBus:
    return FakeBus()


@pytest.fixture
def telemetry() -> RecordingTelemetry:
    return RecordingTelemetry()


@pytest.fixture
def service(verdicts: FakeVerdicts, bus: FakeBus, telemetry: RecordingTelemetry) -> FraudService:
    return FraudService(verdicts, bus, ScoringRules(), telemetry)


def screen(service: FraudService, envelope: Envelope) -> None:
    assert service.handle(envelope, payload_of(envelope)) == []


def test_a_risky_order_is_flagged_once_even_when_delivered_twice(
    service: FraudService, verdicts: FakeVerdicts, bus: FakeBus, telemetry: RecordingTelemetry
) -> None:
    placed = envelope_for(order(watches=3))

    screen(service, placed)
    screen(service, placed)

    [verdict] = bus.published
    assert (verdict.type, verdict.causation_id, verdict.payload["score"]) == (
        "OrderFlaggedForReview",
        placed.event_id,
        70,
    )
    assert verdicts.stored[placed.event_id].published
    assert telemetry.counts == {"OrderFlaggedForReview": 1}
    assert "verdict OrderFlaggedForReview already published for this OrderPlaced" in (
        telemetry.messages("INFO")
    )


def test_a_verdict_that_could_not_be_published_goes_out_unchanged_on_the_retry(
    service: FraudService, verdicts: FakeVerdicts, bus: FakeBus
) -> None:
    placed = envelope_for(order(watches=1))
    bus.down = True
    with pytest.raises(ConnectionError):
        screen(service, placed)
    recorded = verdicts.stored[placed.event_id]
    assert not recorded.published

    bus.down = False
    screen(service, placed)

    assert bus.published == [recorded.verdict]
    assert recorded.verdict.payload == {"order_id": "ord-1", "score": 20}


def test_the_rules_read_the_order_from_its_wire_payload() -> None:
    placed = order(watches=1, country="US")
    assessment = assess(order_of(placed), ScoringRules())
    assert assessment.score == 45
    assert assessment.reasons == (
        "high_total: 129900 EUR >= 50000",
        "outside_home_market: ships to US",
    )


def test_the_verdict_carries_the_score_and_for_a_flag_the_reasons() -> None:
    flagged_order = order(watches=3)
    flagged = verdict_for(flagged_order, assess(order_of(flagged_order), ScoringRules()))
    assert isinstance(flagged, OrderFlaggedForReview)
    assert (flagged.order_id, flagged.score) == ("ord-1", 70)
    assert [reason.split(":")[0] for reason in flagged.reasons] == [
        "very_high_total",
        "bulk_high_value_item",
    ]
    passed_order = order(watches=1)
    passed = verdict_for(passed_order, assess(order_of(passed_order), ScoringRules()))
    assert passed == FraudCheckPassed(order_id="ord-1", score=20)
