"""An SQLAlchemy 2.x event store with a transactional outbox.

Each stream (one order) is a sequence of events numbered 1, 2, ... by ``version``; every event
also gets a global ``position`` from an autoincrementing key. ``append`` writes the new events,
the outbox messages that announce them and a placement's idempotency key in one transaction, so
a message is published if and only if its event was recorded. Optimistic concurrency: the
caller says which version it last saw; if the stream has moved on (seen by a pre-check, or by
the unique ``(stream_id, version)`` constraint when two writers race past the pre-check) the
append raises ``ConcurrencyError`` and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select
from sqlalchemy.exc import IntegrityError

from services.orders.adapters.outbox import queue_messages
from services.orders.adapters.tables import (
    access_digests_table,
    events_table,
    idempotency_keys_table,
    utc,
)
from services.orders.ports import (
    ConcurrencyError,
    DuplicateEventError,
    IdempotencyKey,
    IdempotencyKeyTaken,
    NewEvent,
    OutboxMessage,
    RecordedEvent,
)


class SqlEventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        outbox: Sequence[OutboxMessage] = (),
        *,
        idempotency_key: IdempotencyKey | None = None,
        access_digest: str | None = None,
    ) -> list[RecordedEvent]:
        """See ``services.orders.ports.EventStore.append``."""
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
                positions = {event.event_id: event.position for event in recorded}
                queue_messages(conn, outbox, positions, now)
                if idempotency_key is not None:
                    conn.execute(
                        insert(idempotency_keys_table).values(
                            key=idempotency_key.key,
                            request_fingerprint=idempotency_key.request_fingerprint,
                            order_id=idempotency_key.order_id,
                            created_at=now,
                        )
                    )
                if access_digest is not None:
                    conn.execute(
                        insert(access_digests_table).values(
                            order_id=stream_id, token_sha256=access_digest, created_at=now
                        )
                    )
        except IntegrityError as exc:
            if _is_version_conflict(exc):
                raise ConcurrencyError(stream_id, expected_version, None) from exc
            if _is_duplicate_event_id(exc):
                raise DuplicateEventError(stream_id) from exc
            if idempotency_key is not None and _is_taken_key(exc):
                raise IdempotencyKeyTaken(idempotency_key.key) from exc
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

    def idempotency_key(self, key: str) -> IdempotencyKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(idempotency_keys_table).where(idempotency_keys_table.c.key == key)
            ).one_or_none()
        if row is None:
            return None
        return IdempotencyKey(row.key, row.request_fingerprint, row.order_id)

    def access_digest(self, stream_id: str) -> str | None:
        with self.engine.connect() as conn:
            digest: str | None = conn.execute(
                select(access_digests_table.c.token_sha256).where(
                    access_digests_table.c.order_id == stream_id
                )
            ).scalar_one_or_none()
        return digest


def read_events_after(conn: Connection, after_position: int, limit: int) -> list[RecordedEvent]:
    """``read_all`` on a connection the caller holds (inside its own transaction)."""
    rows = conn.execute(
        select(events_table)
        .where(events_table.c.position > after_position)
        .order_by(events_table.c.position)
        .limit(limit)
    ).all()
    return [_recorded(row._mapping) for row in rows]


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


def _is_taken_key(exc: IntegrityError) -> bool:
    return idempotency_keys_table.name in str(exc.orig).lower()


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
        recorded_at=utc(row["recorded_at"]),
    )
