"""Test databases: a throwaway PostgreSQL database, and the tables of one service with the
idempotency records, on SQLite or on this run's PostgreSQL database (TEST_DATABASE_URL), whose
rows each test removes itself."""

from __future__ import annotations

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


def service_engine(database_url: str, metadata: MetaData) -> Engine:
    """An engine with the service's tables and the idempotency table (dispose it afterwards)."""
    engine = create_engine_for(database_url)
    create_tables(metadata, engine)
    create_tables(idempotency_metadata, engine)
    return engine
