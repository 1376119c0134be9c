"""The analytics Lambda: every order event from its SQS queue into the aggregates, once.

Entry point ``services.analytics.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME`` and the ``POWERTOOLS_*`` variables.
"""

from __future__ import annotations

from services.analytics.adapters import SqlAggregates, metadata
from services.analytics.service import AnalyticsService
from shared.consumer import ConsumerLambda, ConsumerSettings, Wiring, sqs_handler


def analytics(wiring: Wiring[ConsumerSettings]) -> AnalyticsService:
    return AnalyticsService(SqlAggregates(wiring.engine), wiring.telemetry)


handler = ConsumerLambda(
    settings=ConsumerSettings, tables=metadata, service=analytics, trigger=sqs_handler
)
