"""The SQL outbox: every read and write of the ``outbox`` table.

``SqlEventStore.append`` queues the messages (``queue_messages``) in its own transaction.
Relays then ``claim`` records per destination with a lease (``locked_until``), so several relays
share the work without publishing a record twice while its lease runs; ``release`` gives
records back and ``mark_sent`` retires them once the broker accepted them.

Order per stream holds across relays: a claim skips every stream that has an earlier record
leased by someone else, and claims are serialised per destination (a transaction-scoped advisory
lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).

A record the broker refused for good is ``park``-ed: unsent, never claimed, and holding back the
later records of its stream in its destination, until an operator retries it (claimable again)
or discards it (retired unpublished, ``discarded_at`` set: the row stays as a record of it).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    case,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from services.orders.adapters.tables import outbox_table, utc
from services.orders.ports import DestinationStatus, OutboxMessage, OutboxRecord, OutboxStatus

# How many unleased records a claim looks at per record it may take: streams held back by a
# lease are skipped, the rest of the window is claimed.
CANDIDATES_PER_CLAIMED_RECORD = 4
PARK_REASON_LENGTH = 1000

UNSENT = outbox_table.c.sent_at.is_(None) & outbox_table.c.discarded_at.is_(None)
"""Neither published nor discarded: the backlog."""
PARKED = UNSENT & outbox_table.c.parked_at.is_not(None)


def queue_messages(
    conn: Connection,
    messages: Sequence[OutboxMessage],
    event_positions: Mapping[uuid.UUID, int],
    now: datetime,
) -> None:
    """Queue ``messages`` in the caller's transaction (``event_positions``: the positions of
    the events appended with them, by event id)."""
    if not messages:
        return
    conn.execute(
        insert(outbox_table),
        [
            {
                "event_position": None if m.event_id is None else event_positions.get(m.event_id),
                "event_id": None if m.event_id is None else str(m.event_id),
                "destination": str(m.destination),
                "message": dict(m.body),
                "group_id": m.group_id,
                "created_at": now,
                "sent_at": None,
                "locked_until": None,
                "attempts": 0,
            }
            for m in messages
        ],
    )


class SqlOutbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
        self, destinations: Sequence[str], limit: int, lease: timedelta
    ) -> dict[str, list[OutboxRecord]]:
        """See ``services.orders.ports.Outbox.claim``; one short transaction for all
        destinations."""
        now = datetime.now(UTC)
        claims: dict[str, list[OutboxRecord]] = {destination: [] for destination in destinations}
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                for key in sorted({_lock_key(destination) for destination in destinations}):
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            held = conn.execute(
                select(outbox_table).where(
                    UNSENT,
                    outbox_table.c.destination.in_(list(destinations)),
                    or_(outbox_table.c.locked_until >= now, outbox_table.c.parked_at.is_not(None)),
                )
            ).all()
            blocked = {destination: set[str]() for destination in destinations}
            for row in held:
                record = _record(row._mapping)
                blocked[record.destination].add(record.stream)
            for destination, claimed in claims.items():
                candidates = conn.execute(
                    select(outbox_table)
                    .where(
                        UNSENT,
                        outbox_table.c.parked_at.is_(None),
                        outbox_table.c.destination == destination,
                        or_(
                            outbox_table.c.locked_until.is_(None),
                            outbox_table.c.locked_until < now,
                        ),
                    )
                    .order_by(outbox_table.c.position)
                    .limit(limit * CANDIDATES_PER_CLAIMED_RECORD)
                ).all()
                for row in candidates:
                    record = _record(row._mapping)
                    if record.stream in blocked[destination]:
                        continue
                    claimed.append(record)
                    if len(claimed) == limit:
                        break
            positions = [record.position for claimed in claims.values() for record in claimed]
            if positions:
                conn.execute(
                    update(outbox_table)
                    .where(outbox_table.c.position.in_(positions))
                    .values(locked_until=now + lease, attempts=outbox_table.c.attempts + 1)
                )
        return claims

    def release(self, positions: Iterable[int], until: datetime | None = None) -> None:
        self._update_unsent(positions, locked_until=until)

    def mark_sent(self, positions: Iterable[int]) -> None:
        self._update_unsent(positions, sent_at=datetime.now(UTC), locked_until=None)

    def park(self, position: int, reason: str) -> None:
        self._update_unsent(
            [position],
            parked_at=datetime.now(UTC),
            park_reason=reason[:PARK_REASON_LENGTH],
            locked_until=None,
        )

    def parked(self, limit: int = 100) -> list[OutboxRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox_table).where(PARKED).order_by(outbox_table.c.position).limit(limit)
            ).all()
        return [_record(row._mapping) for row in rows]

    def retry_parked(self, position: int) -> OutboxRecord | None:
        return self._settle_parked(
            position, parked_at=None, park_reason=None, locked_until=None, attempts=0
        )

    def discard_parked(self, position: int) -> OutboxRecord | None:
        return self._settle_parked(position, discarded_at=datetime.now(UTC))

    def _settle_parked(self, position: int, **values: object) -> OutboxRecord | None:
        """Set ``values`` on the parked record at ``position``; the record before."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(outbox_table).where(PARKED, outbox_table.c.position == position)
            ).first()
            if row is None:
                return None
            conn.execute(
                update(outbox_table).where(outbox_table.c.position == position).values(**values)
            )
        return _record(row._mapping)

    def _update_unsent(self, positions: Iterable[int], **values: object) -> None:
        """Set ``values`` on the records at ``positions`` that are not sent (nor discarded)."""
        wanted = list(positions)
        if not wanted:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox_table)
                .where(outbox_table.c.position.in_(wanted), UNSENT)
                .values(**values)
            )

    def status(self, destinations: Iterable[str] | None = None) -> OutboxStatus:
        query = (
            select(
                outbox_table.c.destination,
                func.count(),
                func.min(outbox_table.c.created_at),
                func.sum(case((outbox_table.c.parked_at.is_not(None), 1), else_=0)),
            )
            .where(UNSENT)
            .group_by(outbox_table.c.destination)
        )
        wanted = None if destinations is None else list(destinations)
        if wanted is not None:
            query = query.where(outbox_table.c.destination.in_(wanted))
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        found = {
            name: DestinationStatus(
                backlog=int(count),
                lag_seconds=max(0.0, (now - utc(oldest)).total_seconds()),
                parked=int(parked or 0),
            )
            for name, count, oldest, parked in rows
        }
        for name in wanted or ():
            found.setdefault(name, DestinationStatus(backlog=0, lag_seconds=0.0))
        return OutboxStatus(destinations=found)


def _lock_key(destination: str) -> int:
    return 0x0_0D_E5_00_00_00_00 + zlib.crc32(destination.encode())


def _record(row: RowMapping) -> OutboxRecord:
    return OutboxRecord(
        position=int(row["position"]),
        event_position=None if row["event_position"] is None else int(row["event_position"]),
        event_id=None if row["event_id"] is None else uuid.UUID(row["event_id"]),
        destination=row["destination"],
        body=row["message"],
        group_id=row["group_id"],
        created_at=utc(row["created_at"]),
        sent_at=None if row["sent_at"] is None else utc(row["sent_at"]),
        attempts=int(row["attempts"]),
        parked_at=None if row["parked_at"] is None else utc(row["parked_at"]),
        park_reason=row["park_reason"],
    )
