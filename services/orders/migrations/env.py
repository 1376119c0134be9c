"""Alembic environment: uses the connection ``migrate()`` hands over, or opens its own."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from services.orders.adapters.tables import metadata
from shared.database import create_engine_for

config = context.config


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate only looks at this service's tables (the database may be shared)."""
    return type_ != "table" or name in metadata.tables


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=_ours,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = create_engine_for(url)
    try:
        with engine.connect() as own:
            _run(own)
            own.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use migrate(url)")
run_migrations_online()
