"""The fraud Lambda: target of the ``fraud-screening`` rule (detail = an OrderPlaced envelope).

It scores the order (``services.fraud.scoring``), records the verdict in ``fraud_verdicts`` and
puts FraudCheckPassed or OrderFlaggedForReview on the bus (source ``shop.fraud``, causation =
the OrderPlaced). A verdict is decided once per OrderPlaced event: a redelivery publishes
nothing once the verdict is out, and the recorded verdict (same event id) if publishing failed.

Entry point ``services.fraud.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME``, ``POWERTOOLS_*`` and optionally ``FRAUD_FLAG_THRESHOLD`` (70),
``FRAUD_HIGH_TOTAL`` (50000), ``FRAUD_VERY_HIGH_TOTAL`` (200000) and ``FRAUD_HOME_COUNTRIES``
(a JSON list, by default the allowed countries of the routing policy).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import Field, model_validator

from services.fraud.adapters import SqlVerdicts, metadata
from services.fraud.scoring import DEFAULT_HOME_COUNTRIES, ScoringRules, assess, verdict_for
from shared.consumer import (
    BusPublisher,
    ConsumerSettings,
    LambdaHandler,
    LazyHandler,
    MessageConsumer,
    create_tables,
    eventbridge_handler,
    events_client,
    reply_to,
)
from shared.contracts import Contract, OrderPlaced
from shared.database import create_engine_for
from shared.envelope import Envelope
from shared.idempotency import SqlPersistenceLayer
from shared.settings import load

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class FraudSettings(ConsumerSettings):
    fraud_flag_threshold: int = Field(default=70, ge=1, le=100)
    fraud_high_total: int = Field(default=50_000, gt=0)
    fraud_very_high_total: int = Field(default=200_000, gt=0)
    fraud_home_countries: tuple[CountryCode, ...] = Field(
        default=DEFAULT_HOME_COUNTRIES, min_length=1
    )

    @model_validator(mode="after")
    def _consistent_rules(self) -> FraudSettings:
        self.rules()
        return self

    def rules(self) -> ScoringRules:
        return ScoringRules(
            flag_threshold=self.fraud_flag_threshold,
            high_total=self.fraud_high_total,
            very_high_total=self.fraud_very_high_total,
            home_countries=self.fraud_home_countries,
        )


def build(settings: FraudSettings | None = None, events: Any = None) -> LambdaHandler:
    """The handler wired to the database and the bus."""
    settings = settings or load(FraudSettings)
    rules = settings.rules()
    engine = create_engine_for(settings.database_url)
    create_tables(metadata, engine)
    verdicts = SqlVerdicts(engine)
    bus = BusPublisher(events if events is not None else events_client(), settings.event_bus_name)

    def screen(envelope: Envelope, payload: Contract) -> list[Envelope]:
        stored = verdicts.find(envelope.event_id)
        if stored is not None and stored.published:
            consumer.logger.info(
                f"verdict {stored.verdict.type} already published for this OrderPlaced"
            )
            return []
        if stored is None:
            order = cast(OrderPlaced, payload)
            assessment = assess(order, rules)
            verdict = reply_to(envelope, verdict_for(order, assessment))
            stored = verdicts.record(envelope, verdict, assessment.score)
            consumer.logger.info(
                f"order scored {assessment.score}: {stored.verdict.type}",
                extra={"score": assessment.score, "reasons": list(assessment.reasons)},
            )
        bus.publish([stored.verdict])
        verdicts.mark_published(envelope.event_id)
        consumer.observability.count(stored.verdict.type)
        consumer.logger.info(f"{stored.verdict.type} {stored.verdict.event_id} published")
        return []

    consumer = MessageConsumer(
        settings=settings,
        accepts=(OrderPlaced,),
        handle=screen,
        persistence=SqlPersistenceLayer(engine),
        publisher=None,
    )
    return eventbridge_handler(consumer)


handler = LazyHandler(build)
