"""The orders service's own CloudWatch metrics: namespace ``Shop``, dimension service=orders
(the Lambdas' powertools metrics use the same namespace). Publishing never fails the caller: a
CloudWatch outage is logged and the count is lost, the state it counts stays in the database."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

METRICS_NAMESPACE = "Shop"
SERVICE_DIMENSION = {"Name": "service", "Value": "orders"}
PROJECTION_EVENTS_SET_ASIDE = "ProjectionEventsSetAside"
OUTBOX_RECORDS_PARKED = "OutboxRecordsParked"

log = logging.getLogger(__name__)


def _count(cloudwatch: Any, name: str, count: int) -> None:
    """Add ``count`` to the metric ``name``; a CloudWatch failure is logged."""
    try:
        cloudwatch.put_metric_data(
            Namespace=METRICS_NAMESPACE,
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [SERVICE_DIMENSION],
                    "Value": count,
                    "Unit": "Count",
                }
            ],
        )
    except (BotoCoreError, ClientError) as error:
        log.warning("could not publish %s=%d: %s", name, count, error)


class ProjectionMetrics:
    """Counts what the projector does that an operator must hear of."""

    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch

    def events_set_aside(self, count: int) -> None:
        """Add ``count`` to ``ProjectionEventsSetAside`` (the alarm of the same name fires)."""
        _count(self.cloudwatch, PROJECTION_EVENTS_SET_ASIDE, count)


class OutboxMetrics:
    """Counts what the relay does that an operator must hear of."""

    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch

    def records_parked(self, count: int) -> None:
        """Add ``count`` to ``OutboxRecordsParked`` (the alarm of the same name fires)."""
        _count(self.cloudwatch, OUTBOX_RECORDS_PARKED, count)
