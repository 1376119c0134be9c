"""The analytics handler fed SQS batches as AWS delivers them, its exactly-once aggregates on a
real database, and the dashboard function URL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from services.analytics import adapters
from services.analytics.adapters import SqlAnalytics
from services.analytics.domain import UNKNOWN_CURRENCY, minute_of
from services.analytics.handler import build
from services.analytics.http import DashboardSettings
from services.analytics.http import build as build_dashboard
from services.analytics.tests.scenario import Scenario
from shared.consumer import ConsumerSettings
from shared.contracts import (
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderPutOnHold,
    payload_of,
)
from shared.contracts import envelope_for as envelope_of
from shared.database import create_engine_for
from shared.envelope import Envelope
from shared.tests.aws_events import (
    LambdaContextDouble,
    envelope_record,
    failed_ids,
    function_url_event,
    sqs_event,
    sqs_record,
)
from shared.tests.idempotency_records import forget_idempotency

pytestmark = pytest.mark.integration

QUEUE = "analytics"
CONTEXT = LambdaContextDouble("analytics")


def settings(database_url: str) -> ConsumerSettings:
    return ConsumerSettings(
        database_url=database_url, event_bus_name="unused-by-analytics", service_name="analytics"
    )


def placed(scenario: Scenario, quantity: int = 2, price: int = 1500) -> Envelope:
    unit = Money(amount=price, currency=scenario.currency)
    return envelope_of(
        OrderPlaced(
            order_id=scenario.order_id(),
            customer_email="ada@example.com",
            shipping_country="FR",
            lines=(OrderLine(sku=scenario.sku, quantity=quantity, unit_price=unit),),
            total=Money(amount=price * quantity, currency=scenario.currency),
        )
    )


def confirmed(order: Envelope) -> Envelope:
    total = payload_of(order).total  # type: ignore[attr-defined]
    return order.caused(
        "OrderConfirmed",
        OrderConfirmed(order_id=order.correlation_id, total=total).model_dump(mode="json"),
    )


def cancelled(order: Envelope, reason: str) -> Envelope:
    return order.caused(
        "OrderCancelled",
        OrderCancelled(order_id=order.correlation_id, reason=f"{reason}: details").model_dump(),
    )


def held(order: Envelope) -> Envelope:
    return order.caused(
        "OrderPutOnHold",
        OrderPutOnHold(order_id=order.correlation_id, reason="flagged").model_dump(),
    )


def snapshot(engine: Engine, scenario: Scenario) -> dict[str, Any]:
    """This scenario's figures: all its rows are its own (unique currency, SKU, reason)."""
    with engine.connect() as connection:
        minute_rows = connection.execute(
            select(adapters.minutes).where(adapters.minutes.c.currency == scenario.currency)
        ).all()
        sku_rows = connection.execute(
            select(adapters.skus).where(adapters.skus.c.sku == scenario.sku)
        ).all()
        reason = connection.execute(
            select(adapters.cancellations.c.occurrences).where(
                adapters.cancellations.c.reason == scenario.reason
            )
        ).scalar_one_or_none()
        processed = connection.execute(
            select(adapters.processed_events.c.event_type).where(
                adapters.processed_events.c.order_id.in_(scenario.orders)
            )
        ).scalars()
        processed_types = sorted(processed)
    return {
        "minutes": sorted(
            (row.placed, row.placed_value, row.confirmed, row.revenue, row.cancelled)
            for row in minute_rows
        ),
        "skus": [(row.units, row.orders, row.revenue) for row in sku_rows],
        "cancellations": reason,
        "processed": processed_types,
    }


def emf_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def test_a_batch_counts_every_event_once_and_reports_only_the_malformed_record(
    database_url: str,
    engine: Engine,
    scenario: Scenario,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = build(settings(database_url))
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
    handler = build(settings(database_url))
    order = placed(scenario)
    handler(sqs_event(envelope_record(order, QUEUE)), CONTEXT)
    with engine.begin() as connection:
        removed = forget_idempotency(connection, "analytics", [order.event_id])
    assert removed == 1

    assert failed_ids(handler(sqs_event(envelope_record(order, QUEUE)), CONTEXT)) == []
    assert snapshot(engine, scenario)["minutes"] == [(1, 3000, 0, 0, 0)]


def test_a_cancellation_before_its_order_counts_under_no_currency(
    database_url: str, engine: Engine, scenario: Scenario
) -> None:
    analytics = SqlAnalytics(engine)
    early = cancelled(placed(scenario), scenario.reason)
    no_currency = (adapters.minutes.c.currency == UNKNOWN_CURRENCY) & (
        adapters.minutes.c.minute == int(minute_of(early.occurred_at).timestamp())
    )

    def cancelled_without_currency() -> int:
        with engine.connect() as connection:
            found = connection.execute(
                select(adapters.minutes.c.cancelled).where(no_currency)
            ).scalar_one_or_none()
        return int(found or 0)

    before = cancelled_without_currency()
    tally = analytics.record(early, payload_of(early))
    try:
        assert tally is not None and tally.currency == UNKNOWN_CURRENCY
        assert cancelled_without_currency() == before + 1
        assert snapshot(engine, scenario)["cancellations"] == 1
    finally:
        with engine.begin() as connection:
            connection.execute(
                update(adapters.minutes)
                .where(no_currency)
                .values(cancelled=adapters.minutes.c.cancelled - 1)
            )
            nothing_left = (adapters.minutes.c.placed == 0) & (adapters.minutes.c.cancelled == 0)
            connection.execute(delete(adapters.minutes).where(no_currency & nothing_left))


def test_racing_deliveries_of_one_event_count_it_once(
    database_url: str, engine: Engine, scenario: Scenario
) -> None:
    stores = [SqlAnalytics(create_engine_for(database_url)) for _ in range(4)]
    order = placed(scenario)
    payload = payload_of(order)
    start = threading.Barrier(len(stores))
    results: list[object] = []

    def deliver(store: SqlAnalytics) -> None:
        start.wait()
        results.append(store.record(order, payload))

    threads = [threading.Thread(target=deliver, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for store in stores:
        store.engine.dispose()

    assert sum(result is not None for result in results) == 1
    assert len(results) == len(stores)
    assert snapshot(engine, scenario)["minutes"] == [(1, 3000, 0, 0, 0)]


def test_the_dashboard_serves_the_aggregates_over_a_function_url(
    database_url: str, engine: Engine, scenario: Scenario
) -> None:
    handler = build(settings(database_url))
    first, second = placed(scenario), placed(scenario, quantity=1, price=4000)
    handler(
        sqs_event(
            *(
                envelope_record(envelope, QUEUE)
                for envelope in (
                    first,
                    second,
                    confirmed(first),
                    cancelled(second, scenario.reason),
                )
            )
        ),
        CONTEXT,
    )
    dashboard = build_dashboard(DashboardSettings(database_url=database_url))

    response = dashboard(
        function_url_event("/api/analytics", query={"minutes": "5", "top": "100"}), CONTEXT
    )

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert body["window_minutes"] == 5
    assert len(body["series"]) == 5
    now_minute = datetime.now(UTC).replace(second=0, microsecond=0)
    assert body["series"][-1]["minute"] in {
        (now_minute - timedelta(minutes=lag)).isoformat().replace("+00:00", "Z") for lag in (0, 1)
    }
    in_window = [point for point in body["series"] if scenario.currency in point["placed_value"]]
    assert [point["placed_value"][scenario.currency] for point in in_window] == [7000]
    assert [point["revenue"][scenario.currency] for point in in_window] == [3000]
    assert body["totals"]["placed_value"][scenario.currency] == 7000
    assert body["totals"]["revenue"][scenario.currency] == 3000
    [sku] = [entry for entry in body["top_skus"] if entry["sku"] == scenario.sku]
    assert sku == {
        "sku": scenario.sku,
        "units": 3,
        "orders": 2,
        "revenue": {scenario.currency: 7000},
    }
    assert {"reason": scenario.reason, "count": 1} in body["cancellations_by_reason"]
    assert body["conversion"]["placed"] >= 2 and body["conversion"]["confirmed"] >= 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"minutes": "0"}, "minutes must be between 1 and 1440, got 0"),
        ({"minutes": "abc"}, "minutes must be a whole number, got 'abc'"),
        ({"top": "1000"}, "top must be between 1 and 100, got 1000"),
    ],
)
def test_the_dashboard_refuses_a_bad_query_naming_the_parameter(
    database_url: str, query: dict[str, str], message: str
) -> None:
    dashboard = build_dashboard(DashboardSettings(database_url=database_url))
    response = dashboard(function_url_event("/api/analytics", query=query), CONTEXT)
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": message}


def test_the_dashboard_answers_404_elsewhere(database_url: str) -> None:
    dashboard = build_dashboard(DashboardSettings(database_url=database_url))
    assert dashboard(function_url_event("/api/other"), CONTEXT)["statusCode"] == 404
