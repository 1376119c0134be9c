"""An analytics database for one test, its scenario's rows removed afterwards (the PostgreSQL
test database is shared)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select, update

from services.analytics import adapters
from services.analytics.tests.scenario import Scenario
from shared.tests.databases import service_engine
from shared.tests.idempotency_records import forget_idempotency


@pytest.fixture
def scenario() -> Scenario:
    return Scenario()


@pytest.fixture
def engine(database_url: str, scenario: Scenario) -> Iterator[Engine]:
    engine = service_engine(database_url, adapters.metadata)
    yield engine
    with engine.begin() as connection:
        event_ids = connection.execute(
            select(adapters.processed_events.c.event_id).where(
                adapters.processed_events.c.order_id.in_(scenario.orders)
            )
        ).scalars()
        forget_idempotency(connection, "analytics", event_ids)
        counted = connection.execute(
            select(adapters.processed_events.c.event_type, func.count())
            .where(adapters.processed_events.c.order_id.in_(scenario.orders))
            .group_by(adapters.processed_events.c.event_type)
        ).all()
        for event_type, occurrences in counted:
            connection.execute(
                update(adapters.event_counts)
                .where(adapters.event_counts.c.event_type == event_type)
                .values(occurrences=adapters.event_counts.c.occurrences - occurrences)
            )
        connection.execute(
            delete(adapters.event_counts).where(adapters.event_counts.c.occurrences == 0)
        )
        for table, condition in (
            (adapters.processed_events, adapters.processed_events.c.order_id.in_(scenario.orders)),
            (adapters.orders, adapters.orders.c.order_id.in_(scenario.orders)),
            (adapters.minutes, adapters.minutes.c.currency == scenario.currency),
            (adapters.skus, adapters.skus.c.sku == scenario.sku),
            (adapters.cancellations, adapters.cancellations.c.reason == scenario.reason),
        ):
            connection.execute(delete(table).where(condition))
    engine.dispose()
