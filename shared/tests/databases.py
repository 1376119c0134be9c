"""Test databases: a throwaway PostgreSQL database, a database taken away for an outage, and the
tables of one service with the idempotency records, on SQLite or on this run's PostgreSQL database
(TEST_DATABASE_URL), whose rows each test removes itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, MetaData, make_url, text

from shared.database import create_engine_for, create_tables
from shared.idempotency import metadata as idempotency_metadata


@contextmanager
def throwaway_database(server_url: str, name: str) -> Iterator[str]:
    """A database ``name`` on the PostgreSQL server of ``server_url``, dropped (connections and
    all) afterwards; its URL."""
    admin = create_engine_for(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_unavailable(database_url: str) -> Iterator[None]:
    """PostgreSQL: the database refuses connections and its sessions are ended (the server
    itself is untouched); SQLite: a connection holds an exclusive lock on the file."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    admin = create_engine_for(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    name = url.database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def service_engine(database_url: str, metadata: MetaData) -> Engine:
    """An engine with the service's tables and the idempotency table (dispose it afterwards)."""
    engine = create_engine_for(database_url)
    create_tables(metadata, engine)
    create_tables(idempotency_metadata, engine)
    return engine
