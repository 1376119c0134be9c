"""The analytics aggregates on a real database (SQLite file, or PostgreSQL with
TEST_DATABASE_URL): exactly once per event id, even when deliveries race."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, delete, select, update

from services.analytics import adapters
from services.analytics.adapters import SqlAggregates
from services.analytics.domain import UNKNOWN_CURRENCY, minute_of
from services.analytics.service import order_event
from services.analytics.tests.scenario import Scenario, cancelled, placed, snapshot
from shared.contracts import payload_of
from shared.database import create_engine_for

pytestmark = pytest.mark.integration


def test_a_cancellation_before_its_order_counts_under_no_currency(
    database_url: str, engine: Engine, scenario: Scenario
) -> None:
    analytics = SqlAggregates(engine)
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
    tally = analytics.record(order_event(early, payload_of(early)))
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
    stores = [SqlAggregates(create_engine_for(database_url)) for _ in range(4)]
    order = placed(scenario)
    event = order_event(order, payload_of(order))
    start = threading.Barrier(len(stores))
    results: list[object] = []

    def deliver(store: SqlAggregates) -> None:
        start.wait()
        results.append(store.record(event))

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
