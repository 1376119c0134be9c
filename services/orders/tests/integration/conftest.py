"""The orders service on a migrated database, for the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from services.orders import bootstrap
from services.orders.adapters.event_store import SqlEventStore
from services.orders.service import OrderService
from shared.tests.databases import throwaway_database


@pytest.fixture
def orders_database_url(database_url: str) -> str:
    """The database the orders fixtures migrate and use (a module may give its own)."""
    return database_url


@pytest.fixture
def orders(orders_database_url: str) -> Iterator[bootstrap.Orders]:
    orders = bootstrap.orders(orders_database_url)
    yield orders
    orders.close()


@pytest.fixture
def engine(orders: bootstrap.Orders) -> Engine:
    return orders.engine


@pytest.fixture
def store(orders: bootstrap.Orders) -> SqlEventStore:
    return orders.store


@pytest.fixture
def service(orders: bootstrap.Orders) -> OrderService:
    return orders.service


@pytest.fixture
def own_database_url(database_url: str, unique_name: str) -> Iterator[str]:
    """A database of this test alone: on PostgreSQL a throwaway database, for a test whose
    process would touch others' rows (a relay publishes every unsent record of its outbox, a
    rebuild empties the read model)."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    with throwaway_database(database_url, unique_name.replace("-", "_")) as url:
        yield url
