"""Engines for the databases every service owns: SQLite files locally, PostgreSQL elsewhere."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event


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
    return create_engine(url, pool_pre_ping=True, **kwargs)
