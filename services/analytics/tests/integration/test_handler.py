"""The analytics handler fed SQS batches as AWS delivers them, counting into a real database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine

from services.analytics.handler import handler as analytics_handler
from services.analytics.tests.scenario import (
    CONTEXT,
    QUEUE,
    Scenario,
    cancelled,
    confirmed,
    held,
    placed,
    settings,
    snapshot,
)
from shared.tests.aws_events import envelope_record, failed_ids, sqs_event, sqs_record
from shared.tests.idempotency_records import forget_idempotency

pytestmark = pytest.mark.integration


def emf_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def test_a_batch_counts_every_event_once_and_reports_only_the_malformed_record(
    database_url: str,
    engine: Engine,
    scenario: Scenario,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = analytics_handler.build(settings(database_url))
    first, second = placed(scenario), placed(scenario, quantity=1, price=4000)
    malformed = sqs_record("not json at all", QUEUE, "OrderPlaced")
    batch = [
        envelope_record(first, QUEUE),
        envelope_record(confirmed(first), QUEUE),
        malformed,
        envelope_record(second, QUEUE),
        envelope_record(held(second), QUEUE),
        envelope_record(cancelled(second, scenario.reason), QUEUE),
    ]
    duplicate = envelope_record(first, QUEUE)

    response = handler(sqs_event(*batch, duplicate), CONTEXT)

    assert failed_ids(response) == [malformed["messageId"]]
    expected = {
        "minutes": [(2, 7000, 1, 3000, 1)],
        "skus": [(3, 2, 7000)],
        "cancellations": 1,
        "processed": [
            "OrderCancelled",
            "OrderConfirmed",
            "OrderPlaced",
            "OrderPlaced",
            "OrderPutOnHold",
        ],
    }
    assert snapshot(engine, scenario) == expected
    metrics = emf_lines(capsys.readouterr().out)
    batch_metrics = next(line for line in metrics if "OrdersPlaced" in line)
    assert batch_metrics["OrdersPlaced"] == [1.0, 1.0]
    assert batch_metrics["OrdersConfirmed"] == [1.0]
    assert batch_metrics["OrdersCancelled"] == [1.0]
    [revenue] = [line for line in metrics if "Revenue" in line]
    assert (revenue["Revenue"], revenue["currency"], revenue["service"]) == (
        [3000.0],
        scenario.currency,
        "analytics",
    )
    assert revenue["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop"

    again = handler(sqs_event(*batch), CONTEXT)
    assert failed_ids(again) == [malformed["messageId"]]
    assert snapshot(engine, scenario) == expected
    assert not any("OrdersPlaced" in line for line in emf_lines(capsys.readouterr().out))


def test_an_event_is_counted_once_even_without_its_idempotency_record(
    database_url: str, engine: Engine, scenario: Scenario
) -> None:
    handler = analytics_handler.build(settings(database_url))
    order = placed(scenario)
    handler(sqs_event(envelope_record(order, QUEUE)), CONTEXT)
    with engine.begin() as connection:
        removed = forget_idempotency(connection, "analytics", [order.event_id])
    assert removed == 1

    assert failed_ids(handler(sqs_event(envelope_record(order, QUEUE)), CONTEXT)) == []
    assert snapshot(engine, scenario)["minutes"] == [(1, 3000, 0, 0, 0)]
