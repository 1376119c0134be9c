"""Fixtures of the API tests: the API from the composition root on the test database, with no
AWS behind it (it never publishes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from services.orders import bootstrap
from services.orders.adapters.tables import events_table, idempotency_keys_table, outbox_table
from services.orders.settings import OrdersSettings
from services.orders.tests.api.order_requests import OPERATOR_TOKEN


@pytest.fixture
def settings(database_url: str) -> OrdersSettings:
    return OrdersSettings(
        database_url=database_url,
        topic_arn="arn:aws:sns:us-east-1:000000000000:order-events-not-used",
        payments_queue_url="http://127.0.0.1:9/000000000000/payments-not-used.fifo",
        event_bus_name="orders-not-used",
        updates_queue_url="http://127.0.0.1:9/000000000000/order-updates-not-used",
        operator_token=SecretStr(OPERATOR_TOKEN),
        currency="EUR",
    )


@pytest.fixture
def orders(settings: OrdersSettings) -> Iterator[bootstrap.Orders]:
    orders = bootstrap.orders(settings.database_url)
    yield orders
    orders.close()


@pytest.fixture
def client(orders: bootstrap.Orders, settings: OrdersSettings) -> Iterator[TestClient]:
    app = bootstrap.api(orders, settings, emulator_check=lambda: None)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def engine(orders: bootstrap.Orders) -> Engine:
    return orders.engine


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
