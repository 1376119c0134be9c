"""The Alembic migrations: safe to run again and at once, and they build the tables the
adapters use."""

from __future__ import annotations

import json
import multiprocessing
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.migrations import alembic_config, migrate
from services.orders.adapters.outbox import SqlOutbox
from services.orders.adapters.tables import metadata
from services.orders.tests.contracts import placed, stream
from shared.database import create_engine_for

pytestmark = pytest.mark.integration


def test_migrate_is_idempotent_and_safe_concurrently(database_url: str) -> None:
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        for result in [pool.submit(migrate, database_url) for _ in range(3)]:
            result.result(timeout=120)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(database_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    migrate(database_url)
    assert errors == []
    engine = create_engine_for(database_url)
    try:
        store = SqlEventStore(engine)
        stream_id = stream()
        store.append(stream_id, 0, [placed()], [])
        assert len(store.read_stream(stream_id)) == 1
    finally:
        engine.dispose()


def test_migrations_match_the_store_tables(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def ours(name: str | None, type_: str, parent_names: Any) -> bool:
        # the database may be shared with other services' tables
        return type_ != "table" or name in metadata.tables

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_migration_0002_matches_the_read_model_and_key_tables(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from services.orders.adapters.tables import (
        idempotency_keys_table,
        projection_positions_table,
        summaries_table,
    )

    mine = {
        idempotency_keys_table.name,
        summaries_table.name,
        projection_positions_table.name,
    }

    def only_mine(item: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        table = item if type_ == "table" else getattr(item, "table", None)
        return table is None or table.name in mine

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": only_mine})
        assert compare_metadata(context, metadata) == []


def test_migration_0006_parks_records_of_an_outbox_queued_before_it(own_database_url: str) -> None:
    url = own_database_url
    migrate(url, "0005")
    engine = create_engine_for(url)
    queue = f"sns-{uuid.uuid4().hex[:8]}"
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox (destination, message, created_at, attempts)"
                    " VALUES (:destination, :message, :created_at, 0)"
                ),
                {
                    "destination": queue,
                    "message": json.dumps({"correlation_id": "order-1"}),
                    "created_at": datetime.now(UTC),
                },
            )

        migrate(url)

        outbox = SqlOutbox(engine)
        [record] = outbox.claim([queue], 10, timedelta(seconds=30))[queue]
        assert (record.stream, record.parked_at, record.park_reason) == ("order-1", None, None)
        outbox.park(record.position, "InvalidParameter: too long")
        assert [r.position for r in outbox.parked()] == [record.position]
        engine.dispose()

        command.downgrade(alembic_config(url), "0005")

        columns = {column["name"] for column in inspect(engine).get_columns("outbox")}
        assert {"parked_at", "park_reason", "discarded_at"}.isdisjoint(columns)
        assert "attempts" in columns
    finally:
        engine.dispose()
