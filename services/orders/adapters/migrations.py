"""Run the orders service's Alembic migrations from code (no alembic.ini).

``migrate(url)`` is safe to call repeatedly and concurrently: on PostgreSQL it holds a
session-level advisory lock while upgrading, so parallel test workers or several replicas
starting at once run the migrations one after the other (the later ones find nothing to do);
on SQLite ``BEGIN IMMEDIATE`` does the same. Within one process a lock serialises callers,
because Alembic keeps its running context in module globals.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from shared.database import create_engine_for

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Any fixed 64-bit number: the key of the advisory lock that serialises migrations.
ADVISORY_LOCK_KEY = 0x0_0D_E5_5E_00_01

# Alembic keeps its running context in module globals: one migration per process at a time.
_IN_PROCESS = threading.Lock()


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(url: str, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` against ``url``."""
    with _IN_PROCESS:
        _migrate(url, revision)


def _migrate(url: str, revision: str) -> None:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                connection.commit()
            try:
                command.upgrade(alembic_config(url, connection), revision)
                connection.commit()
            finally:
                if postgres:
                    connection.rollback()
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                    connection.commit()
    finally:
        engine.dispose()
