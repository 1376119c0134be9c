"""The alarm on the orders service's outbox: records the relay parked because the broker
rejected them for good (their orders' later records wait behind them)."""

from __future__ import annotations

from infra.cloudformation.topology.builder import TemplateBuilder
from services.orders.public import METRICS_NAMESPACE, OUTBOX_RECORDS_PARKED, SERVICE_DIMENSION


def add_outbox_alarms(builder: TemplateBuilder) -> None:
    builder.alarm(
        "OutboxRecordsParkedAlarm",
        "orders-outbox-records-parked",
        "The orders relay parked outbox records the broker rejected; their orders wait:"
        " GET /api/ops/outbox/parked, fix the cause, then retry or discard each"
        " (docs/runbook.md, a record is parked)",
        namespace=METRICS_NAMESPACE,
        metric=OUTBOX_RECORDS_PARKED,
        dimensions=[SERVICE_DIMENSION],
        statistic="Sum",
    )
