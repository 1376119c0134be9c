"""The email database of one test, the rows of its order removed afterwards (the PostgreSQL
test database is shared)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from services.email.adapters import email_recipients, email_sent, metadata
from shared.tests.databases import service_engine
from shared.tests.idempotency_records import forget_idempotency


@pytest.fixture
def order_id() -> str:
    return f"ord-{uuid.uuid4().hex}"


@pytest.fixture
def recipient(order_id: str) -> str:
    """An address no other test sends to, so the SES mailbox can be filtered by it."""
    return f"{order_id}@customers.example.com"


@pytest.fixture
def engine(database_url: str, order_id: str) -> Iterator[Engine]:
    engine = service_engine(database_url, metadata)
    yield engine
    with engine.begin() as connection:
        event_ids = (
            connection.execute(
                select(email_sent.c.event_id).where(email_sent.c.order_id == order_id)
            )
            .scalars()
            .all()
        )
        forget_idempotency(connection, "email", event_ids)
        connection.execute(delete(email_sent).where(email_sent.c.order_id == order_id))
        connection.execute(delete(email_recipients).where(email_recipients.c.order_id == order_id))
    engine.dispose()
