"""The SQL event store and outbox keep the contract, on SQLite and (with TEST_DATABASE_URL) on
PostgreSQL; and what only PostgreSQL can show."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.migrations import migrate
from services.orders.adapters.outbox import SqlOutbox
from services.orders.ports import ConcurrencyError, NewEvent
from services.orders.tests.contracts import (
    EventStoreContract,
    OutboxContract,
    placed,
    race,
    stream,
)
from shared.database import create_engine_for

pytestmark = pytest.mark.integration


def _engine(url: str) -> Iterator[Engine]:
    migrate(url)
    engine = create_engine_for(url)
    yield engine
    engine.dispose()


class SqlContract(EventStoreContract, OutboxContract):
    @pytest.fixture
    def store(self, engine: Engine) -> SqlEventStore:
        return SqlEventStore(engine)

    @pytest.fixture
    def outbox(self, engine: Engine) -> SqlOutbox:
        return SqlOutbox(engine)


class TestSqlite(SqlContract):
    @pytest.fixture
    def engine(self, tmp_path: Path) -> Iterator[Engine]:
        yield from _engine(f"sqlite:///{tmp_path / 'store.db'}")


class TestPostgres(SqlContract):
    @pytest.fixture
    def engine(self, postgres_database_url: str | None) -> Iterator[Engine]:
        if postgres_database_url is None:
            pytest.skip("set TEST_DATABASE_URL to a PostgreSQL database")
        yield from _engine(postgres_database_url)

    def test_unique_constraint_catches_writers_that_pass_the_pre_check(
        self, store: SqlEventStore
    ) -> None:
        stream_id = stream()
        barrier = threading.Barrier(2)

        @event.listens_for(store.engine, "before_cursor_execute")
        def _hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
                barrier.wait(timeout=10)  # both writers have passed the version pre-check

        def write(i: int) -> NewEvent:
            new = placed(i)
            store.append(stream_id, 0, [new], [])
            return new

        try:
            outcomes = race(2, write)
        finally:
            event.remove(store.engine, "before_cursor_execute", _hold)
        losers = [o for o in outcomes if isinstance(o, ConcurrencyError)]
        assert len(losers) == 1, outcomes
        assert losers[0].actual_version is None
        assert len(store.read_stream(stream_id)) == 1
