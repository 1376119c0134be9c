"""Fraud's use case: score an OrderPlaced that the ``fraud-screening`` rule sends, once.

The verdict (FraudCheckPassed or OrderFlaggedForReview, causation = the OrderPlaced) is decided
once per OrderPlaced event and recorded before it is put on the bus: a redelivery publishes
nothing once the verdict is out, and the recorded verdict (same event id) if publishing failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.fraud import domain
from services.fraud.domain import Assessment, ScoringRules, assess
from shared import contracts
from shared.consumer import reply_to
from shared.contracts import Contract, FraudCheckPassed, OrderFlaggedForReview, OrderPlaced
from shared.envelope import Envelope
from shared.observability import Telemetry


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    verdict: Envelope
    published: bool


class Verdicts(Protocol):
    def find(self, event_id: uuid.UUID) -> StoredVerdict | None: ...

    def record(self, cause: Envelope, verdict: Envelope, score: int) -> StoredVerdict:
        """Keep the verdict unless one is already recorded for ``cause``; the kept one."""
        ...

    def mark_published(self, event_id: uuid.UUID) -> None: ...


class Bus(Protocol):
    def publish(self, replies: Sequence[Envelope]) -> None: ...


class FraudService:
    accepts = (OrderPlaced,)

    def __init__(
        self, verdicts: Verdicts, bus: Bus, rules: ScoringRules, telemetry: Telemetry
    ) -> None:
        self.verdicts = verdicts
        self.bus = bus
        self.rules = rules
        self.telemetry = telemetry

    def handle(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        if not isinstance(payload, OrderPlaced):
            raise TypeError(f"fraud does not handle {envelope.type}")
        stored = self.verdicts.find(envelope.event_id)
        if stored is not None and stored.published:
            self.telemetry.info(
                f"verdict {stored.verdict.type} already published for this OrderPlaced"
            )
            return []
        if stored is None:
            assessment = assess(order_of(payload), self.rules)
            verdict = reply_to(envelope, verdict_for(payload, assessment))
            stored = self.verdicts.record(envelope, verdict, assessment.score)
            self.telemetry.info(
                f"order scored {assessment.score}: {stored.verdict.type}",
                score=assessment.score,
                reasons=list(assessment.reasons),
            )
        self.bus.publish([stored.verdict])
        self.verdicts.mark_published(envelope.event_id)
        self.telemetry.count(stored.verdict.type)
        self.telemetry.info(f"{stored.verdict.type} {stored.verdict.event_id} published")
        return []


def order_of(placed: OrderPlaced) -> domain.OrderPlaced:
    """The order as the scoring rules read it."""
    return domain.OrderPlaced(
        order_id=placed.order_id,
        customer_email=placed.customer_email,
        shipping_country=placed.shipping_country,
        lines=tuple(
            domain.OrderLine(line.sku, line.quantity, money(line.unit_price))
            for line in placed.lines
        ),
        total=money(placed.total),
    )


def money(amount: contracts.Money) -> domain.Money:
    return domain.Money(amount.amount, amount.currency)


def verdict_for(
    order: OrderPlaced, assessment: Assessment
) -> FraudCheckPassed | OrderFlaggedForReview:
    """The reply the orders service gets: a flag with the reasons, or a pass with the score."""
    if assessment.flagged:
        return OrderFlaggedForReview(
            order_id=order.order_id, score=assessment.score, reasons=assessment.reasons
        )
    return FraudCheckPassed(order_id=order.order_id, score=assessment.score)
