"""An SQLAlchemy 2.x event store with a transactional outbox.

Each stream (one order) is a sequence of events numbered 1, 2, ... by ``version``; every event
also gets a global ``position`` from an autoincrementing key. ``append`` writes the new events
and the outbox messages that announce them in one transaction, so a message is published if
and only if its event was recorded. Optimistic concurrency: the caller says which version it
last saw; if the stream has moved on (seen by a pre-check, or by the unique
``(stream_id, version)`` constraint when two writers race past the pre-check) the append
raises ``ConcurrencyError`` and writes nothing.

The outbox relay calls ``claim_unsent`` (rows locked with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL and leased for a while, so concurrent relays never claim the same row) and
``mark_sent`` once the broker accepted the messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    RowMapping,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

metadata = MetaData()

# SQLite only autoincrements an ``INTEGER PRIMARY KEY``; elsewhere positions are 64-bit.
_Position = BigInteger().with_variant(Integer(), "sqlite")

events_table = Table(
    "events",
    metadata,
    Column("position", _Position, primary_key=True, autoincrement=True),
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
    Column("position", _Position, primary_key=True, autoincrement=True),
    Column(
        "event_position",
        _Position,
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
    Index("ix_outbox_unsent", "sent_at", "position"),
    Index("ix_outbox_event_id", "event_id"),
    sqlite_autoincrement=True,
)


class DuplicateEventError(Exception):
    """An event with this ``event_id`` is already recorded (a redelivered message); nothing
    was written."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        super().__init__(
            f"stream {stream_id!r}: an event with one of these ids is already recorded"
        )


class ConcurrencyError(Exception):
    """The stream is not at the version the writer expected; nothing was written."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        actual = "unknown (lost a race)" if actual_version is None else str(actual_version)
        super().__init__(
            f"stream {stream_id!r}: expected version {expected_version}, found {actual}"
        )


@dataclass(frozen=True)
class NewEvent:
    """An event to append; its stream version is assigned by ``append``."""

    type: str
    payload: Mapping[str, Any]
    schema_version: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    payload: Mapping[str, Any]
    metadata: Mapping[str, Any]
    recorded_at: datetime


@dataclass(frozen=True)
class OutboxMessage:
    """A message to publish; ``event_id`` links it to an event appended with it (optional)."""

    destination: str  # e.g. "sns", "fifo", "bus"
    body: Mapping[str, Any]
    group_id: str | None = None
    event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class OutboxRecord:
    position: int
    event_position: int | None
    event_id: uuid.UUID | None
    destination: str
    body: Mapping[str, Any]
    group_id: str | None
    created_at: datetime
    sent_at: datetime | None
    attempts: int


def _utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything this store writes is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlEventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def _is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        outbox: Sequence[OutboxMessage] = (),
        *,
        in_transaction: Callable[[Connection, Sequence[RecordedEvent]], None] | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` after ``expected_version`` (0 for a new stream) and queue
        ``outbox`` messages, all in one transaction. Raises ``ConcurrencyError``, or
        ``DuplicateEventError`` when an ``event_id`` is already recorded.

        ``in_transaction`` runs last inside the transaction with the recorded events, for
        writes that must commit or roll back with them (an API idempotency key, say)."""
        now = datetime.now(UTC)
        recorded: list[RecordedEvent] = []
        try:
            with self.engine.begin() as conn:
                current = conn.execute(
                    select(func.coalesce(func.max(events_table.c.version), 0)).where(
                        events_table.c.stream_id == stream_id
                    )
                ).scalar_one()
                if current != expected_version:
                    raise ConcurrencyError(stream_id, expected_version, int(current))
                for offset, new in enumerate(events, start=1):
                    row = conn.execute(
                        insert(events_table)
                        .values(
                            event_id=str(new.event_id),
                            stream_id=stream_id,
                            version=expected_version + offset,
                            type=new.type,
                            schema_version=new.schema_version,
                            payload=dict(new.payload),
                            metadata=dict(new.metadata),
                            recorded_at=now,
                        )
                        .returning(*events_table.c)
                    ).one()
                    recorded.append(_recorded(row._mapping))
                positions = {r.event_id: r.position for r in recorded}
                if outbox:
                    conn.execute(
                        insert(outbox_table),
                        [
                            {
                                "event_position": positions.get(m.event_id)
                                if m.event_id is not None
                                else None,
                                "event_id": None if m.event_id is None else str(m.event_id),
                                "destination": m.destination,
                                "message": dict(m.body),
                                "group_id": m.group_id,
                                "created_at": now,
                                "sent_at": None,
                                "locked_until": None,
                                "attempts": 0,
                            }
                            for m in outbox
                        ],
                    )
                if in_transaction is not None:
                    in_transaction(conn, recorded)
        except IntegrityError as exc:
            if _is_version_conflict(exc):
                raise ConcurrencyError(stream_id, expected_version, None) from exc
            if _is_duplicate_event_id(exc):
                raise DuplicateEventError(stream_id) from exc
            raise
        return recorded

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table)
                .where(
                    events_table.c.stream_id == stream_id,
                    events_table.c.version > after_version,
                )
                .order_by(events_table.c.version)
            ).all()
        return [_recorded(row._mapping) for row in rows]

    def read_all(self, after_position: int = 0, limit: int = 100) -> list[RecordedEvent]:
        """Events in global order. On PostgreSQL a position can become visible after a
        higher one (transactions commit out of order); catch-up readers should tolerate it."""
        with self.engine.connect() as conn:
            return read_events_after(conn, after_position, limit)

    def read_outbox(self, positions: Iterable[int]) -> list[OutboxRecord]:
        with self.engine.connect() as conn:
            return _select_outbox(conn, outbox_table.c.position.in_(list(positions)))

    def outbox_for_events(self, event_ids: Iterable[uuid.UUID]) -> list[OutboxRecord]:
        with self.engine.connect() as conn:
            return _select_outbox(conn, outbox_table.c.event_id.in_([str(e) for e in event_ids]))

    def claim_unsent(
        self,
        limit: int = 100,
        *,
        destination: str | None = None,
        lease: timedelta = timedelta(seconds=30),
    ) -> list[OutboxRecord]:
        """Claim up to ``limit`` unsent messages, oldest first, for ``lease``.

        The rows are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises
        writers with ``BEGIN IMMEDIATE``) and leased (``locked_until``) so that no other relay
        claims them until the lease runs out; a relay that dies leaves them to be retried.
        """
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            query = (
                select(outbox_table.c.position)
                .where(
                    outbox_table.c.sent_at.is_(None),
                    or_(
                        outbox_table.c.locked_until.is_(None),
                        outbox_table.c.locked_until < now,
                    ),
                )
                .order_by(outbox_table.c.position)
                .limit(limit)
            )
            if destination is not None:
                query = query.where(outbox_table.c.destination == destination)
            if self._is_postgres:
                query = query.with_for_update(skip_locked=True)
            positions = list(conn.execute(query).scalars())
            if not positions:
                return []
            conn.execute(
                update(outbox_table)
                .where(outbox_table.c.position.in_(positions))
                .values(locked_until=now + lease, attempts=outbox_table.c.attempts + 1)
            )
            return _select_outbox(conn, outbox_table.c.position.in_(positions))

    def mark_sent(self, positions: Iterable[int]) -> None:
        wanted = list(positions)
        if not wanted:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox_table)
                .where(outbox_table.c.position.in_(wanted), outbox_table.c.sent_at.is_(None))
                .values(sent_at=datetime.now(UTC), locked_until=None)
            )


def read_events_after(conn: Connection, after_position: int, limit: int) -> list[RecordedEvent]:
    """``read_all`` on a connection the caller holds (inside its own transaction)."""
    rows = conn.execute(
        select(events_table)
        .where(events_table.c.position > after_position)
        .order_by(events_table.c.position)
        .limit(limit)
    ).all()
    return [_recorded(row._mapping) for row in rows]


def _select_outbox(conn: Connection, condition: ColumnElement[bool]) -> list[OutboxRecord]:
    rows = conn.execute(
        select(outbox_table).where(condition).order_by(outbox_table.c.position)
    ).all()
    return [_outbox_record(row._mapping) for row in rows]


def _is_version_conflict(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "uq_events_stream_version" in text or (
        "unique" in text and "events.stream_id" in text and "events.version" in text
    )


def _is_duplicate_event_id(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "uq_events_event_id" in text or (
        "unique" in text and "events.event_id" in text and "events.version" not in text
    )


def _recorded(row: RowMapping) -> RecordedEvent:
    return RecordedEvent(
        position=int(row["position"]),
        event_id=uuid.UUID(row["event_id"]),
        stream_id=row["stream_id"],
        version=int(row["version"]),
        type=row["type"],
        schema_version=int(row["schema_version"]),
        payload=row["payload"],
        metadata=row["metadata"],
        recorded_at=_utc(row["recorded_at"]),
    )


def _outbox_record(row: RowMapping) -> OutboxRecord:
    return OutboxRecord(
        position=int(row["position"]),
        event_position=None if row["event_position"] is None else int(row["event_position"]),
        event_id=None if row["event_id"] is None else uuid.UUID(row["event_id"]),
        destination=row["destination"],
        body=row["message"],
        group_id=row["group_id"],
        created_at=_utc(row["created_at"]),
        sent_at=None if row["sent_at"] is None else _utc(row["sent_at"]),
        attempts=int(row["attempts"]),
    )
