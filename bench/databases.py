"""Databases for the placement bench: a SQLite file, or a throwaway PostgreSQL database."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.tests.databases import throwaway_database

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def database(kind: str, scratch: Path, label: str) -> Iterator[str]:
    """A fresh database of ``kind`` (``sqlite`` or ``postgresql``) for one server."""
    if kind == "sqlite":
        yield f"sqlite:///{scratch / f'{label}.db'}"
    else:
        with throwaway_database(PG_ADMIN_URL, f"bench_{label}_{uuid.uuid4().hex[:8]}") as url:
            yield url
