"""The fraud database of one test, the verdicts of its orders removed afterwards (the
PostgreSQL test database is shared)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from services.fraud.adapters import fraud_verdicts, metadata
from shared.database import create_engine_for, create_tables
from shared.idempotency import metadata as idempotency_metadata
from shared.tests.idempotency_records import forget_idempotency


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
    engine = create_engine_for(database_url)
    create_tables(metadata, engine)
    create_tables(idempotency_metadata, engine)
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
