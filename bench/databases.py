"""Databases for the placement bench: a SQLite file, or a throwaway PostgreSQL database."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def throwaway_postgres(name: str) -> Iterator[str]:
    """A database ``name`` on the local server, dropped afterwards; its URL."""
    from sqlalchemy import make_url, text

    from shared.database import create_engine_for

    admin = create_engine_for(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database(kind: str, scratch: Path, label: str) -> Iterator[str]:
    """A fresh database of ``kind`` (``sqlite`` or ``postgresql``) for one server."""
    if kind == "sqlite":
        yield f"sqlite:///{scratch / f'{label}.db'}"
    else:
        with throwaway_postgres(f"bench_{label}_{uuid.uuid4().hex[:8]}") as url:
            yield url
