"""The orders service on a migrated database, for the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.migrations import migrate
from services.orders.application import OrderService
from shared.database import create_engine_for


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = create_engine_for(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlEventStore:
    return SqlEventStore(engine)


@pytest.fixture
def service(engine: Engine) -> OrderService:
    return OrderService.for_engine(engine)
