"""The fraud database of one test, the verdicts of its orders removed afterwards (the
PostgreSQL test database is shared)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from services.fraud.adapters import fraud_verdicts, metadata
from shared.tests.bus_capture import bus_fixture
from shared.tests.databases import service_engine
from shared.tests.idempotency_records import forget_idempotency

fraud_bus = bus_fixture("shop.fraud")


@pytest.fixture
def orders() -> list[str]:
    """The order ids a test uses; their rows are removed after it."""
    return []


@pytest.fixture
def order_id(orders: list[str]) -> str:
    orders.append(f"ord-{uuid.uuid4().hex}")
    return orders[-1]


@pytest.fixture
def engine(database_url: str, orders: list[str]) -> Iterator[Engine]:
    engine = service_engine(database_url, metadata)
    yield engine
    with engine.begin() as connection:
        event_ids = (
            connection.execute(
                select(fraud_verdicts.c.event_id).where(fraud_verdicts.c.order_id.in_(orders))
            )
            .scalars()
            .all()
        )
        forget_idempotency(connection, "fraud", event_ids)
        connection.execute(delete(fraud_verdicts).where(fraud_verdicts.c.order_id.in_(orders)))
    engine.dispose()
