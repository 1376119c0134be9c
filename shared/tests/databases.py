"""The test database of one service: its tables and the idempotency records, on SQLite or on
this run's PostgreSQL database (TEST_DATABASE_URL), whose rows each test removes itself."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData

from shared.database import create_engine_for, create_tables
from shared.idempotency import metadata as idempotency_metadata


def service_engine(database_url: str, metadata: MetaData) -> Engine:
    """An engine with the service's tables and the idempotency table (dispose it afterwards)."""
    engine = create_engine_for(database_url)
    create_tables(metadata, engine)
    create_tables(idempotency_metadata, engine)
    return engine
