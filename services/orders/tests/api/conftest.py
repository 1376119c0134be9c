"""Fixtures of the API tests: the API from the composition root on the test database, with no
AWS behind it (it never publishes; its operators are held in memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select

from services.orders import bootstrap
from services.orders.adapters.tables import (
    access_digests_table,
    events_table,
    idempotency_keys_table,
    outbox_table,
)
from services.orders.settings import OrdersSettings, RateLimitSettings
from services.orders.tests.api.order_requests import OPERATOR
from shared.operators import Operators
from shared.tests.operators import StaticDirectory

# The API tests' profile: limits no test reaches by accident (test_rate_limits_api sets its own).
TEST_LIMITS = RateLimitSettings(
    placements_per_second=1000, operator_requests_per_second=1000, trusted_proxy_hops=1
)


@pytest.fixture
def settings(database_url: str) -> OrdersSettings:
    return OrdersSettings(
        database_url=database_url,
        topic_arn="arn:aws:sns:us-east-1:000000000000:order-events-not-used",
        payments_queue_url="http://127.0.0.1:9/000000000000/payments-not-used.fifo",
        event_bus_name="orders-not-used",
        updates_queue_url="http://127.0.0.1:9/000000000000/order-updates-not-used",
        currency="EUR",
    )


@pytest.fixture
def orders(settings: OrdersSettings) -> Iterator[bootstrap.Orders]:
    orders = bootstrap.orders(settings.database_url)
    yield orders
    orders.close()


@pytest.fixture
def directory() -> StaticDirectory:
    return StaticDirectory()


@pytest.fixture
def operator(directory: StaticDirectory) -> str:
    """The credential of the operator ``OPERATOR``."""
    return directory.issue(OPERATOR)


@pytest.fixture
def client(
    orders: bootstrap.Orders, settings: OrdersSettings, directory: StaticDirectory
) -> Iterator[TestClient]:
    app = bootstrap.api(
        orders,
        settings,
        operators=Operators(directory),
        emulator_check=lambda: None,
        limits=TEST_LIMITS,
    )
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
            self.digests_before = set(self._recent_digests(conn))

    def mentioning(self, marker: str) -> list[Any]:
        """Events, outbox records, idempotency keys and access digests written since, that
        mention ``marker`` (other writers may share the database, so only our marker counts)."""
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
            digests = [d for d in self._recent_digests(conn) if d not in self.digests_before]
        rows = [*events, *outbox, *keys, *digests]
        return [row for row in rows if marker in json.dumps(row._asdict(), default=str)]

    def _recent_digests(self, conn: Connection) -> list[Any]:
        return list(
            conn.execute(
                select(access_digests_table).where(access_digests_table.c.created_at >= self.since)
            ).all()
        )


@pytest.fixture
def writes(engine: Engine) -> Writes:
    return Writes(engine)
