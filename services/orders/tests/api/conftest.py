"""Fixtures of the API tests: an app on the test database that never publishes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from services.orders.adapters.event_store import events_table, outbox_table
from services.orders.api import create_app
from services.orders.application import idempotency_keys_table
from services.orders.config import OrdersSettings
from shared.database import create_engine_for

OPERATOR_TOKEN = "operator-token-for-tests-0123456789"


@pytest.fixture
def settings(database_url: str) -> OrdersSettings:
    return OrdersSettings(
        database_url=database_url,
        topic_arn="arn:aws:sns:us-east-1:000000000000:order-events-not-used",
        payments_queue_url="http://127.0.0.1:9/000000000000/payments-not-used.fifo",
        event_bus_name="orders-not-used",
        updates_queue_url="http://127.0.0.1:9/000000000000/order-updates-not-used",
        operator_token=OPERATOR_TOKEN,
        currency="EUR",
    )


@pytest.fixture
def client(settings: OrdersSettings) -> Iterator[TestClient]:
    app = create_app(settings, project_in_background=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def engine(settings: OrdersSettings, client: TestClient) -> Iterator[Engine]:
    """The test database, migrated by the app."""
    engine = create_engine_for(settings.database_url)
    yield engine
    engine.dispose()


class Writes:
    """What the store holds after a point in time, to show a failed request wrote nothing."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.since = datetime.now(UTC) - timedelta(seconds=1)
        with engine.connect() as conn:
            self.event_position = conn.execute(
                select(func.coalesce(func.max(events_table.c.position), 0))
            ).scalar_one()
            self.outbox_position = conn.execute(
                select(func.coalesce(func.max(outbox_table.c.position), 0))
            ).scalar_one()

    def mentioning(self, marker: str) -> list[Any]:
        """Events, outbox records and idempotency keys written since, that mention ``marker``
        (other writers may share the database, so only our marker counts)."""
        with self.engine.connect() as conn:
            events = conn.execute(
                select(events_table).where(events_table.c.position > self.event_position)
            ).all()
            outbox = conn.execute(
                select(outbox_table).where(outbox_table.c.position > self.outbox_position)
            ).all()
            keys = conn.execute(
                select(idempotency_keys_table).where(
                    idempotency_keys_table.c.created_at >= self.since
                )
            ).all()
        rows = [*events, *outbox, *keys]
        return [row for row in rows if marker in json.dumps(row._asdict(), default=str)]


@pytest.fixture
def writes(engine: Engine) -> Writes:
    return Writes(engine)
