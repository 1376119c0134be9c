"""The orders service's SQL tables (the Alembic migrations create the same)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only autoincrements an ``INTEGER PRIMARY KEY``; elsewhere positions are 64-bit.
Position = BigInteger().with_variant(Integer(), "sqlite")

events_table = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(200), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("event_id", name="uq_events_event_id"),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    sqlite_autoincrement=True,
)

outbox_table = Table(
    "outbox",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column(
        "event_position",
        Position,
        ForeignKey("events.position", name="fk_outbox_event_position"),
        nullable=True,
    ),
    Column("event_id", String(36), nullable=True),
    Column("destination", String(200), nullable=False),
    Column("message", JSON, nullable=False),
    Column("group_id", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("parked_at", DateTime(timezone=True), nullable=True),
    Column("park_reason", String(1000), nullable=True),
    Column("discarded_at", DateTime(timezone=True), nullable=True),
    Index("ix_outbox_unsent", "sent_at", "position"),
    Index("ix_outbox_parked", "parked_at"),
    Index("ix_outbox_event_id", "event_id"),
    sqlite_autoincrement=True,
)

idempotency_keys_table = Table(
    "orders_idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_fingerprint", String(64), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

access_digests_table = Table(
    "orders_access_digests",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("token_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

operations_log_table = Table(
    "orders_operations_log",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("operator", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False),
    Column("outcome", String(1000), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)

summaries_table = Table(
    "orders_summaries",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("status", String(40), nullable=False),
    Column("total_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("customer_email", String(320), nullable=False),
    Column("shipping_country", String(2), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("final_at", DateTime(timezone=True), nullable=True),
    Index("ix_orders_summaries_placed", "placed_at", "order_id"),
    Index("ix_orders_summaries_status_placed", "status", "placed_at", "order_id"),
)

projection_positions_table = Table(
    "orders_projection_positions",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", Position, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

projection_set_aside_table = Table(
    "orders_projection_set_aside",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("error", String(1000), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
)


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything these tables hold is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
