"""The order summary read model (SQL), projected from the event log exactly once.

A projection reads the events after its tracking position, updates the summary rows and moves
the position in one transaction (the tracking row is locked, so concurrent projectors take
turns), hence every event is applied exactly once; ``rebuild`` empties the table and replays the
whole log. ``services.orders.projector`` keeps it up to date.

Gaps: positions come from a sequence, so on PostgreSQL a transaction can commit position 8
before another commits position 7. A projection stops at such a gap and waits for it to
fill; a gap left behind by a rolled-back transaction never fills, so once the first event
after the gap was recorded more than ``gap_timeout`` ago (no append transaction lives that
long) the gap counts as empty and the projection moves on.

One bad event never stops it: an event whose data the summaries cannot hold is set aside
(``services.orders.adapters.set_aside``) and the projection moves past it; a rebuild retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from services.orders.adapters import set_aside
from services.orders.adapters.event_store import read_events_after
from services.orders.adapters.set_aside import SetAsideEvent, SetAsideList
from services.orders.adapters.tables import projection_positions_table, summaries_table, utc
from services.orders.ports import RecordedEvent
from shared import contracts

log = logging.getLogger(__name__)

ORDER_SUMMARIES = "order_summaries"
DEFAULT_GAP_TIMEOUT = timedelta(seconds=3)

STATUS_AFTER: dict[str, str] = {
    "OrderPlaced": "awaiting_replies",
    "OrderPutOnHold": "on_hold",
    "OrderReviewApproved": "awaiting_replies",
    "OrderConfirmed": "confirmed",
    "OrderCancelled": "cancelled",
}
FINAL_STATUSES = frozenset({"confirmed", "cancelled"})


@dataclass(frozen=True)
class OrderSummary:
    order_id: str
    status: str
    total_amount: int
    currency: str
    item_count: int
    customer_email: str
    shipping_country: str
    version: int
    placed_at: datetime
    updated_at: datetime
    final_at: datetime | None


@dataclass(frozen=True)
class Projected:
    """What a projection did: the events it moved past, and those among them set aside."""

    events: int
    set_aside: tuple[SetAsideEvent, ...] = ()

    def __add__(self, other: Projected) -> Projected:
        return Projected(self.events + other.events, self.set_aside + other.set_aside)


@dataclass(frozen=True)
class SummaryPage:
    items: list[OrderSummary]
    next_cursor: tuple[datetime, str] | None


class OrderSummaries:
    """The ``orders_summaries`` read model: projected from the log, paged newest first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def project_pending(
        self,
        *,
        batch_size: int = 500,
        gap_timeout: timedelta = DEFAULT_GAP_TIMEOUT,
        name: str = ORDER_SUMMARIES,
    ) -> Projected:
        """Apply the next batch of events after the tracking position, setting aside those that
        cannot be stored. Call it until it moves past no event to catch up (``catch_up``)."""
        with self.engine.begin() as conn:
            position = _locked_position(conn, name)
            pending = read_events_after(conn, position, batch_size)
            batch = contiguous(position, pending, gap_timeout=gap_timeout)
            if not batch:
                return Projected(0)
            now = datetime.now(UTC)
            unstorable = _apply_batch(conn, batch)
            set_aside_now = set_aside.settle(conn, name, batch, unstorable, now)
            conn.execute(
                update(projection_positions_table)
                .where(projection_positions_table.c.name == name)
                .values(position=batch[-1].position, updated_at=now)
            )
            return Projected(len(batch), tuple(set_aside_now))

    def catch_up(
        self,
        *,
        batch_size: int = 500,
        gap_timeout: timedelta = DEFAULT_GAP_TIMEOUT,
        name: str = ORDER_SUMMARIES,
    ) -> Projected:
        """Project until nothing is pending."""
        total = Projected(0)
        while (
            projected := self.project_pending(
                batch_size=batch_size, gap_timeout=gap_timeout, name=name
            )
        ).events:
            total += projected
        return total

    def rebuild(self, *, gap_timeout: timedelta = DEFAULT_GAP_TIMEOUT) -> Projected:
        """Empty the summaries, reset the tracking position and replay the whole event log (the
        reset in one transaction). Every set-aside event is retried on the way: its record goes
        if it is stored now, and stays (one more attempt) if not."""
        with self.engine.begin() as conn:
            _locked_position(conn, ORDER_SUMMARIES)
            conn.execute(delete(summaries_table))
            conn.execute(
                update(projection_positions_table)
                .where(projection_positions_table.c.name == ORDER_SUMMARIES)
                .values(position=0, updated_at=datetime.now(UTC))
            )
        return self.catch_up(gap_timeout=gap_timeout)

    def set_aside_events(self, *, limit: int = 100) -> SetAsideList:
        """The events set aside by every projection, oldest first, and how many there are."""
        with self.engine.connect() as conn:
            return set_aside.listed(conn, limit=limit)

    def tracking_position(self, name: str = ORDER_SUMMARIES) -> int:
        with self.engine.connect() as conn:
            position = conn.execute(
                select(projection_positions_table.c.position).where(
                    projection_positions_table.c.name == name
                )
            ).scalar_one_or_none()
        return 0 if position is None else int(position)

    def page(
        self,
        *,
        status: str | None = None,
        limit: int = 50,
        after: tuple[datetime, str] | None = None,
    ) -> SummaryPage:
        """Summaries newest first; ``after`` is the ``next_cursor`` of the previous page."""
        query = select(summaries_table)
        if status is not None:
            query = query.where(summaries_table.c.status == status)
        if after is not None:
            placed_at, order_id = after
            query = query.where(
                or_(
                    summaries_table.c.placed_at < placed_at,
                    and_(
                        summaries_table.c.placed_at == placed_at,
                        summaries_table.c.order_id < order_id,
                    ),
                )
            )
        query = query.order_by(
            summaries_table.c.placed_at.desc(), summaries_table.c.order_id.desc()
        ).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        items = [_summary(row._mapping) for row in rows[:limit]]
        more = len(rows) > limit
        return SummaryPage(items, (items[-1].placed_at, items[-1].order_id) if more else None)


def _locked_position(conn: Connection, name: str) -> int:
    """The tracking position, its row locked until the transaction ends (created at 0)."""
    query = (
        select(projection_positions_table.c.position)
        .where(projection_positions_table.c.name == name)
        .with_for_update()
    )
    position = conn.execute(query).scalar_one_or_none()
    if position is not None:
        return int(position)
    try:
        with conn.begin_nested():
            conn.execute(
                insert(projection_positions_table).values(
                    name=name, position=0, updated_at=datetime.now(UTC)
                )
            )
    except IntegrityError:
        pass  # a concurrent projector created it; the select below waits for its lock
    return int(conn.execute(query).scalar_one())


def contiguous(
    position: int, events: Sequence[RecordedEvent], *, gap_timeout: timedelta
) -> list[RecordedEvent]:
    """The events up to the first gap that may still fill (see the module docstring)."""
    settled_before = datetime.now(UTC) - gap_timeout
    batch: list[RecordedEvent] = []
    expected = position + 1
    for event in events:
        if event.position != expected and event.recorded_at > settled_before:
            log.debug("positions %d..%d not visible yet; waiting", expected, event.position - 1)
            break
        batch.append(event)
        expected = event.position + 1
    return batch


def _apply_batch(
    conn: Connection, batch: Sequence[RecordedEvent]
) -> list[tuple[RecordedEvent, str]]:
    """Apply ``batch``; the events that could not be stored, with why. The batch is tried at
    once first; only when one of its events cannot be stored is it applied one event at a time,
    each in a savepoint. Any other failure fails the whole transaction."""
    try:
        with conn.begin_nested():
            for event in batch:
                _apply(conn, event)
        return []
    except set_aside.STORE_ERRORS as error:
        if not set_aside.cannot_store(error):
            raise
    unstorable: list[tuple[RecordedEvent, str]] = []
    for event in batch:
        try:
            with conn.begin_nested():
                _apply(conn, event)
        except set_aside.STORE_ERRORS as error:
            if not set_aside.cannot_store(error):
                raise
            unstorable.append((event, set_aside.describe(error)))
    return unstorable


def _put_summary(conn: Connection, **row: Any) -> None:
    """Insert the order's summary or replace it whole, in one statement, so that projectors
    applying the same OrderPlaced at once (a rebuild beside the running one) do not collide."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    upsert = dialect.insert(summaries_table).values(**row)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[summaries_table.c.order_id],
            set_={name: upsert.excluded[name] for name in row if name != "order_id"},
        )
    )


def _apply(conn: Connection, event: RecordedEvent) -> None:
    """Apply one event to the summaries; events of other kinds or unreadable payloads of
    foreign streams are skipped (the log is shared by every writer of the store)."""
    if event.type == "OrderPlaced":
        try:
            placed = contracts.OrderPlaced.model_validate(event.payload)
        except ValidationError:
            log.warning("skipping unreadable OrderPlaced at position %d", event.position)
            return
        if placed.order_id != event.stream_id:
            return
        _put_summary(
            conn,
            order_id=placed.order_id,
            status=STATUS_AFTER["OrderPlaced"],
            total_amount=placed.total.amount,
            currency=placed.total.currency,
            item_count=sum(line.quantity for line in placed.lines),
            customer_email=placed.customer_email,
            shipping_country=placed.shipping_country,
            version=event.version,
            last_position=event.position,
            placed_at=event.recorded_at,
            updated_at=event.recorded_at,
            final_at=None,
        )
        return
    changes: dict[str, Any] = {
        "version": event.version,
        "last_position": event.position,
        "updated_at": event.recorded_at,
    }
    status = STATUS_AFTER.get(event.type)
    if status is not None:
        changes["status"] = status
        if status in FINAL_STATUSES:
            changes["final_at"] = event.recorded_at
    conn.execute(
        update(summaries_table)
        .where(
            summaries_table.c.order_id == event.stream_id,
            summaries_table.c.version < event.version,
        )
        .values(changes)
    )


def _summary(row: Any) -> OrderSummary:
    return OrderSummary(
        order_id=row["order_id"],
        status=row["status"],
        total_amount=int(row["total_amount"]),
        currency=row["currency"],
        item_count=int(row["item_count"]),
        customer_email=row["customer_email"],
        shipping_country=row["shipping_country"],
        version=int(row["version"]),
        placed_at=utc(row["placed_at"]),
        updated_at=utc(row["updated_at"]),
        final_at=None if row["final_at"] is None else utc(row["final_at"]),
    )
