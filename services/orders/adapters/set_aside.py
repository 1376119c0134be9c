"""Events a projection could not store, set aside so that one bad event never stops it.

A projection that fails to store an event because of the event itself (its data breaks a
column or a constraint: a NUL character in a PostgreSQL text column, a number out of range, a
check) records it here with its position, stream, type and the error, and moves past it in the
same transaction. A failure of the database itself (connection lost, lock timeout) is not the
event's fault: the batch fails and is tried again. Projecting a position again (a rebuild
replays every position) retries its event: on success its record goes, on failure its attempts
count up.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from services.orders.adapters.tables import projection_set_aside_table, utc
from services.orders.ports import RecordedEvent

MAX_ERROR_LENGTH = 1000
STORE_ERRORS = (StatementError, ValueError, TypeError, ArithmeticError)
"""What storing an event can raise; ``cannot_store`` tells which of them are the event's fault."""

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SetAsideEvent:
    projection: str
    position: int
    event_id: str
    stream_id: str
    event_type: str
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime


@dataclass(frozen=True)
class SetAsideList:
    events: list[SetAsideEvent]
    total: int


def cannot_store(error: Exception) -> bool:
    """Whether ``error`` says the event's data cannot be stored (set it aside) rather than that
    the database failed (try the batch again)."""
    if isinstance(error, DBAPIError):
        return isinstance(error, DataError | IntegrityError)
    return isinstance(error, STORE_ERRORS)


def describe(error: Exception) -> str:
    """The error in one printable line: its type and first line, without the statement and its
    parameters (they hold the data that could not be stored, customer data among it)."""
    cause = error.orig if isinstance(error, StatementError) and error.orig else error
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0] if lines else 'no message'}"
    return _printable(text)[:MAX_ERROR_LENGTH]


def settle(
    conn: Connection,
    projection: str,
    batch: Collection[RecordedEvent],
    unstorable: Sequence[tuple[RecordedEvent, str]],
    now: datetime,
) -> list[SetAsideEvent]:
    """After projecting ``batch``: forget the records of its events that were stored now, and
    set aside (again) the ``unstorable`` ones with their error; the records set aside."""
    positions = [event.position for event in batch]
    failed = [event.position for event, _ in unstorable]
    table = projection_set_aside_table
    conn.execute(
        delete(table).where(
            table.c.projection == projection,
            table.c.position.between(min(positions), max(positions)),
            table.c.position.not_in(failed),
        )
    )
    if not unstorable:
        return []
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    for event, error in unstorable:
        upsert = dialect.insert(table).values(
            projection=projection,
            position=event.position,
            event_id=str(event.event_id),
            stream_id=_printable(event.stream_id)[:200],
            event_type=_printable(event.type)[:200],
            error=error,
            attempts=1,
            first_failed_at=now,
            last_failed_at=now,
        )
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.projection, table.c.position],
                set_={
                    "error": upsert.excluded.error,
                    "attempts": table.c.attempts + 1,
                    "last_failed_at": upsert.excluded.last_failed_at,
                },
            )
        )
    rows = conn.execute(
        select(table)
        .where(
            table.c.projection == projection,
            table.c.position.in_(failed),
        )
        .order_by(table.c.position)
    ).all()
    return [_set_aside(row._mapping) for row in rows]


def listed(conn: Connection, *, limit: int) -> SetAsideList:
    """The set-aside events of every projection, oldest position first, and how many there are."""
    table = projection_set_aside_table
    rows = conn.execute(
        select(table).order_by(table.c.position, table.c.projection).limit(limit)
    ).all()
    total = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return SetAsideList([_set_aside(row._mapping) for row in rows], int(total))


def _printable(text: str) -> str:
    """``text`` with each control character written as its escape (``\\x00``)."""
    return _CONTROL_CHARACTER.sub(lambda match: repr(match.group())[1:-1], text)


def _set_aside(row: Any) -> SetAsideEvent:
    return SetAsideEvent(
        projection=row["projection"],
        position=int(row["position"]),
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        event_type=row["event_type"],
        error=row["error"],
        attempts=int(row["attempts"]),
        first_failed_at=utc(row["first_failed_at"]),
        last_failed_at=utc(row["last_failed_at"]),
    )
