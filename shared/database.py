"""Engines for the databases every service owns: SQLite files locally, PostgreSQL elsewhere,
and what every service does with its own tables on them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

# libpq waits for a connection as long as TCP does (minutes on a silent network): give up sooner.
CONNECT_TIMEOUT_SECONDS = 5

UpsertInsert = Callable[[Table], Any]
"""``insert(table)`` of the engine's dialect, with ``on_conflict_do_nothing`` / ``_do_update``."""


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine for ``sqlite:///...`` (WAL, busy timeout, ``BEGIN IMMEDIATE``) or
    ``postgresql+psycopg://...``."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            # Let SQLAlchemy, not the driver, issue BEGIN (so it can be BEGIN IMMEDIATE).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # Take the write lock up front: a writer waits (busy_timeout) instead of failing
            # with a stale WAL snapshot halfway through its transaction.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql") and not url.startswith("postgresql+psycopg"):
        raise ValueError(f"use the psycopg 3 driver (postgresql+psycopg://...), not {url!r}")
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **kwargs.pop("connect_args", {})}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """Create a service's tables at cold start, tolerating another process creating them too."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except (IntegrityError, ProgrammingError, OperationalError):
        metadata.create_all(engine, checkfirst=True)


def upsert_insert(engine: Engine) -> UpsertInsert:
    """The engine's dialect ``insert``, which knows ``ON CONFLICT`` (PostgreSQL or SQLite)."""
    dialects: dict[str, UpsertInsert] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if engine.dialect.name not in dialects:
        raise ValueError(f"need PostgreSQL or SQLite, not {engine.dialect.name}")
    return dialects[engine.dialect.name]
