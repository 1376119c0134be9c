"""An in-memory event store and outbox, for fast tests of everything above the database.

Both share one ``InMemoryDatabase`` (as the SQL adapters share an engine); a lock stands in for
the transaction, so they are safe to use from several threads. They pass the same contract suite
as the SQL adapters (``services/orders/tests/contracts.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.orders.ports import (
    ConcurrencyError,
    DestinationStatus,
    DuplicateEventError,
    IdempotencyKey,
    IdempotencyKeyTaken,
    NewEvent,
    OutboxMessage,
    OutboxRecord,
    OutboxStatus,
    RecordedEvent,
)


@dataclass(frozen=True)
class _OutboxRow:
    record: OutboxRecord
    locked_until: datetime | None = None
    discarded_at: datetime | None = None

    @property
    def unsent(self) -> bool:
        return self.record.sent_at is None and self.discarded_at is None

    @property
    def parked(self) -> bool:
        return self.unsent and self.record.parked_at is not None


class InMemoryDatabase:
    """The events, outbox rows, idempotency keys and access digests, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.events: list[RecordedEvent] = []
        self.outbox: list[_OutboxRow] = []
        self.keys: dict[str, IdempotencyKey] = {}
        self.access_digests: dict[str, str] = {}

    def outbox_records(self) -> list[OutboxRecord]:
        """Every outbox record, sent or not, in order (for tests to look at)."""
        with self.lock:
            return [row.record for row in self.outbox]


class InMemoryEventStore:
    def __init__(self, database: InMemoryDatabase | None = None) -> None:
        self.database = database or InMemoryDatabase()

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
        db = self.database
        now = datetime.now(UTC)
        with db.lock:
            current = sum(1 for event in db.events if event.stream_id == stream_id)
            if current != expected_version:
                raise ConcurrencyError(stream_id, expected_version, current)
            known = {event.event_id for event in db.events}
            if any(new.event_id in known for new in events):
                raise DuplicateEventError(stream_id)
            if idempotency_key is not None and idempotency_key.key in db.keys:
                raise IdempotencyKeyTaken(idempotency_key.key)
            position = len(db.events)
            recorded = [
                RecordedEvent(
                    position=position + offset,
                    event_id=new.event_id,
                    stream_id=stream_id,
                    version=expected_version + offset,
                    type=new.type,
                    schema_version=new.schema_version,
                    payload=dict(new.payload),
                    metadata=dict(new.metadata),
                    recorded_at=now,
                )
                for offset, new in enumerate(events, start=1)
            ]
            db.events.extend(recorded)
            positions = {event.event_id: event.position for event in recorded}
            for message in outbox:
                record = OutboxRecord(
                    position=len(db.outbox) + 1,
                    event_position=(
                        None if message.event_id is None else positions.get(message.event_id)
                    ),
                    event_id=message.event_id,
                    destination=str(message.destination),
                    body=dict(message.body),
                    group_id=message.group_id,
                    created_at=now,
                    sent_at=None,
                    attempts=0,
                )
                db.outbox.append(_OutboxRow(record))
            if idempotency_key is not None:
                db.keys[idempotency_key.key] = idempotency_key
            if access_digest is not None:
                db.access_digests[stream_id] = access_digest
        return recorded

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        with self.database.lock:
            return [
                event
                for event in self.database.events
                if event.stream_id == stream_id and event.version > after_version
            ]

    def read_all(self, after_position: int = 0, limit: int = 100) -> list[RecordedEvent]:
        with self.database.lock:
            return self.database.events[after_position : after_position + limit]

    def idempotency_key(self, key: str) -> IdempotencyKey | None:
        with self.database.lock:
            return self.database.keys.get(key)

    def access_digest(self, stream_id: str) -> str | None:
        with self.database.lock:
            return self.database.access_digests.get(stream_id)


class InMemoryOutbox:
    def __init__(self, database: InMemoryDatabase) -> None:
        self.database = database

    def claim(
        self, destinations: Sequence[str], limit: int, lease: timedelta
    ) -> dict[str, list[OutboxRecord]]:
        """See ``services.orders.ports.Outbox.claim``."""
        now = datetime.now(UTC)
        claims: dict[str, list[OutboxRecord]] = {destination: [] for destination in destinations}
        with self.database.lock:
            rows = self.database.outbox
            unsent = [
                (index, row)
                for index, row in enumerate(rows)
                if row.unsent and row.record.destination in claims
            ]
            blocked = {
                (row.record.destination, row.record.stream)
                for _, row in unsent
                if row.parked or (row.locked_until is not None and row.locked_until >= now)
            }
            for index, row in unsent:
                record = row.record
                claimed = claims[record.destination]
                if (record.destination, record.stream) in blocked or len(claimed) == limit:
                    continue
                claimed.append(record)
                rows[index] = _OutboxRow(
                    replace(record, attempts=record.attempts + 1), locked_until=now + lease
                )
        return claims

    def release(self, positions: Iterable[int], until: datetime | None = None) -> None:
        self._update(positions, lambda row: replace(row, locked_until=until))

    def mark_sent(self, positions: Iterable[int]) -> None:
        now = datetime.now(UTC)
        self._update(positions, lambda row: _OutboxRow(replace(row.record, sent_at=now)))

    def park(self, position: int, reason: str) -> None:
        now = datetime.now(UTC)
        self._update(
            [position],
            lambda row: _OutboxRow(replace(row.record, parked_at=now, park_reason=reason)),
        )

    def parked(self, limit: int = 100) -> list[OutboxRecord]:
        with self.database.lock:
            return [row.record for row in self.database.outbox if row.parked][:limit]

    def retry_parked(self, position: int) -> OutboxRecord | None:
        return self._settle_parked(
            position,
            lambda row: _OutboxRow(
                replace(row.record, parked_at=None, park_reason=None, attempts=0)
            ),
        )

    def discard_parked(self, position: int) -> OutboxRecord | None:
        now = datetime.now(UTC)
        return self._settle_parked(position, lambda row: replace(row, discarded_at=now))

    def _settle_parked(
        self, position: int, change: Callable[[_OutboxRow], _OutboxRow]
    ) -> OutboxRecord | None:
        with self.database.lock:
            rows = self.database.outbox
            for index, row in enumerate(rows):
                if row.record.position == position and row.parked:
                    rows[index] = change(row)
                    return row.record
        return None

    def status(self, destinations: Iterable[str] | None = None) -> OutboxStatus:
        wanted = None if destinations is None else set(destinations)
        now = datetime.now(UTC)
        oldest: dict[str, datetime] = {}
        backlog: dict[str, int] = {}
        parked: dict[str, int] = {}
        with self.database.lock:
            for row in self.database.outbox:
                record = row.record
                if not row.unsent or (wanted is not None and record.destination not in wanted):
                    continue
                backlog[record.destination] = backlog.get(record.destination, 0) + 1
                parked[record.destination] = parked.get(record.destination, 0) + row.parked
                oldest.setdefault(record.destination, record.created_at)
        found = {
            name: DestinationStatus(
                backlog=count,
                lag_seconds=max(0.0, (now - oldest[name]).total_seconds()),
                parked=parked[name],
            )
            for name, count in backlog.items()
        }
        for name in wanted or ():
            found.setdefault(name, DestinationStatus(backlog=0, lag_seconds=0.0))
        return OutboxStatus(destinations=found)

    def _update(self, positions: Iterable[int], change: Callable[[_OutboxRow], _OutboxRow]) -> None:
        wanted = set(positions)
        with self.database.lock:
            rows = self.database.outbox
            for index, row in enumerate(rows):
                if row.record.position in wanted and row.unsent:
                    rows[index] = change(row)
