"""The analytics Lambda: every order event from its SQS queue into the aggregates, once.

Entry point ``services.analytics.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME`` and the ``POWERTOOLS_*`` variables. Besides the consumer's own metrics it
publishes EMF metrics ``OrdersPlaced``, ``OrdersConfirmed``, ``OrdersCancelled`` (Count) and
``Revenue`` (confirmed totals in minor units, dimension ``currency``), only for events that
changed the aggregates.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from services.analytics.adapters import SqlAnalytics, metadata
from services.analytics.domain import Tally
from shared.consumer import (
    ConsumerSettings,
    LambdaHandler,
    LazyHandler,
    MessageConsumer,
    create_tables,
    sqs_handler,
)
from shared.contracts import ORDER_EVENTS, Contract
from shared.database import create_engine_for
from shared.envelope import Envelope
from shared.idempotency import SqlPersistenceLayer
from shared.settings import load


def build(settings: ConsumerSettings | None = None) -> LambdaHandler:
    """The handler wired to the analytics database."""
    settings = settings or load(ConsumerSettings)
    engine = create_engine_for(settings.database_url)
    create_tables(metadata, engine)
    analytics = SqlAnalytics(engine)

    def count(envelope: Envelope, payload: Contract) -> list[Envelope]:
        result = analytics.record(envelope, payload)
        if result is None:
            consumer.logger.info("event already counted")
            return []
        publish_metrics(result)
        return []

    def publish_metrics(result: Tally) -> None:
        for name, value in (
            ("OrdersPlaced", result.placed),
            ("OrdersConfirmed", result.confirmed),
            ("OrdersCancelled", result.cancelled),
        ):
            if value:
                consumer.observability.count(name, value)
        if result.revenue:
            with single_metric(
                name="Revenue",
                unit=MetricUnit.NoUnit,
                value=result.revenue,
                namespace=settings.metrics_namespace,
                default_dimensions={"service": settings.service_name},
            ) as metric:
                metric.add_dimension(name="currency", value=result.currency)

    consumer = MessageConsumer(
        settings=settings,
        accepts=ORDER_EVENTS,
        handle=count,
        persistence=SqlPersistenceLayer(engine),
        publisher=None,
    )
    return sqs_handler(consumer)


handler = LazyHandler(build)
