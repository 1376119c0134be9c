"""Contract of the SQL event store and its outbox, on SQLite and (TEST_DATABASE_URL) PostgreSQL.

Every test uses its own stream ids and outbox destinations, so runs share a PostgreSQL
database safely, also in parallel under pytest-xdist.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from services.orders.adapters.event_store import (
    ConcurrencyError,
    NewEvent,
    OutboxMessage,
    SqlEventStore,
    events_table,
)
from services.orders.adapters.migrations import migrate
from shared.database import create_engine_for

pytestmark = pytest.mark.integration


def _stream() -> str:
    return f"order-{uuid.uuid4()}"


def _destination() -> str:
    return f"sns-{uuid.uuid4().hex[:12]}"


def _placed(n: int = 1) -> NewEvent:
    return NewEvent(type="OrderPlaced", payload={"n": n, "total": "12.50"}, metadata={"c": "x"})


def test_append_then_read_stream_round_trips(store: SqlEventStore) -> None:
    stream = _stream()
    first = NewEvent(
        type="OrderPlaced",
        payload={"order_id": stream, "lines": [{"sku": "A", "qty": 2}]},
        schema_version=2,
        metadata={"correlation_id": "c-1"},
    )
    second = NewEvent(type="PaymentCaptured", payload={"amount": "9.99"})
    written = store.append(stream, 0, [first, second], [])

    read = store.read_stream(stream)
    assert read == written
    assert [(e.version, e.type) for e in read] == [(1, "OrderPlaced"), (2, "PaymentCaptured")]
    assert read[0].event_id == first.event_id
    assert read[0].payload == {"order_id": stream, "lines": [{"sku": "A", "qty": 2}]}
    assert read[0].schema_version == 2
    assert read[0].metadata == {"correlation_id": "c-1"}
    assert read[1].schema_version == 1
    assert read[0].recorded_at.tzinfo is not None
    assert store.read_stream(stream, after_version=1) == [read[1]]
    assert store.read_stream(_stream()) == []


def test_positions_increase_and_read_all_follows_them(store: SqlEventStore) -> None:
    stream = _stream()
    a = store.append(stream, 0, [_placed(1), _placed(2)], [])
    b = store.append(stream, 2, [_placed(3)], [])
    positions = [e.position for e in a + b]
    assert positions == sorted(positions)
    assert len(set(positions)) == 3
    assert [e.version for e in store.read_stream(stream)] == [1, 2, 3]

    after = store.read_all(after_position=positions[0] - 1, limit=10_000)
    mine = [e for e in after if e.stream_id == stream]
    assert [e.position for e in mine] == positions
    assert all(x.position < y.position for x, y in itertools.pairwise(after))
    assert all(e.position > positions[1] for e in store.read_all(positions[1], 10))
    assert len(store.read_all(positions[0] - 1, limit=1)) == 1


def test_wrong_expected_version_raises_and_writes_nothing(store: SqlEventStore) -> None:
    stream = _stream()
    store.append(stream, 0, [_placed()], [])
    intruder = _placed(2)
    message = OutboxMessage("sns", {"type": "OrderPlaced"}, event_id=intruder.event_id)

    for expected in (0, 2, 5):
        with pytest.raises(ConcurrencyError) as info:
            store.append(stream, expected, [intruder], [message])
        assert info.value.expected_version == expected
        assert info.value.actual_version == 1

    assert [e.version for e in store.read_stream(stream)] == [1]
    assert store.outbox_for_events([intruder.event_id]) == []
    with store.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).where(events_table.c.event_id == str(intruder.event_id))
        ).scalar_one()
    assert count == 0


def test_new_stream_expects_version_zero(store: SqlEventStore) -> None:
    with pytest.raises(ConcurrencyError):
        store.append(_stream(), 1, [_placed()], [])


def _race(store: SqlEventStore, stream: str, expected: int, writers: int) -> list[Any]:
    barrier = threading.Barrier(writers)
    outcomes: list[Any] = [None] * writers

    def write(i: int) -> None:
        ev = _placed(i)
        barrier.wait(timeout=10)
        try:
            store.append(
                stream, expected, [ev], [OutboxMessage("sns", {"i": i}, None, ev.event_id)]
            )
            outcomes[i] = ev
        except ConcurrencyError as exc:
            outcomes[i] = exc
        except Exception as exc:  # surfaced by the assertions below
            outcomes[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_writers_at_the_same_version_exactly_one_wins(store: SqlEventStore) -> None:
    for _ in range(5):
        stream = _stream()
        store.append(stream, 0, [_placed()], [])
        outcomes = _race(store, stream, 1, 2)
        winners = [o for o in outcomes if isinstance(o, NewEvent)]
        losers = [o for o in outcomes if isinstance(o, ConcurrencyError)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        read = store.read_stream(stream)
        assert [e.version for e in read] == [1, 2]
        assert read[1].event_id == winners[0].event_id
        loser_ids = [o.event_id for o in outcomes if isinstance(o, NewEvent)]
        assert len(store.outbox_for_events(loser_ids)) == 1


def test_unique_constraint_catches_writers_that_pass_the_pre_check(
    store: SqlEventStore, database_url: str
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: both cannot pass the check")
    stream = _stream()
    barrier = threading.Barrier(2)

    @event.listens_for(store.engine, "before_cursor_execute")
    def _hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            barrier.wait(timeout=10)  # both writers have passed the version pre-check

    try:
        outcomes = _race(store, stream, 0, 2)
    finally:
        event.remove(store.engine, "before_cursor_execute", _hold)
    losers = [o for o in outcomes if isinstance(o, ConcurrencyError)]
    assert len(losers) == 1, outcomes
    assert losers[0].actual_version is None
    assert len(store.read_stream(stream)) == 1


def test_outbox_rows_are_written_with_their_events(store: SqlEventStore) -> None:
    stream = _stream()
    placed = _placed()
    messages = [
        OutboxMessage("sns", {"type": "OrderPlaced", "order": stream}, event_id=placed.event_id),
        OutboxMessage("fifo", {"charge": "12.50"}, group_id=stream, event_id=placed.event_id),
        OutboxMessage("bus", {"detail": "risky"}, event_id=placed.event_id),
    ]
    [recorded] = store.append(stream, 0, [placed], messages)

    rows = store.outbox_for_events([placed.event_id])
    assert [(r.destination, dict(r.body), r.group_id) for r in rows] == [
        (m.destination, dict(m.body), m.group_id) for m in messages
    ]
    assert all(r.event_position == recorded.position for r in rows)
    assert all(r.sent_at is None and r.attempts == 0 for r in rows)
    assert [r.position for r in rows] == sorted(r.position for r in rows)


def test_claim_unsent_then_mark_sent(store: SqlEventStore) -> None:
    stream = _stream()
    dest = _destination()
    events = [_placed(i) for i in range(3)]
    store.append(stream, 0, events, [OutboxMessage(dest, {"i": i}) for i in range(3)])

    first = store.claim_unsent(2, destination=dest)
    assert [dict(r.body) for r in first] == [{"i": 0}, {"i": 1}]
    assert all(r.attempts == 1 and r.sent_at is None for r in first)
    # claimed rows are leased: the next claim only sees the rest
    second = store.claim_unsent(10, destination=dest)
    assert [dict(r.body) for r in second] == [{"i": 2}]
    assert store.claim_unsent(10, destination=dest) == []

    store.mark_sent([r.position for r in first])
    sent = store.read_outbox([r.position for r in first])
    assert all(r.sent_at is not None for r in sent)


def test_unsent_messages_are_claimed_again_after_the_lease(store: SqlEventStore) -> None:
    dest = _destination()
    store.append(_stream(), 0, [_placed()], [OutboxMessage(dest, {"a": 1})] * 2)
    claimed = store.claim_unsent(10, destination=dest, lease=timedelta(0))
    assert len(claimed) == 2
    store.mark_sent([claimed[0].position])

    again = store.claim_unsent(10, destination=dest, lease=timedelta(0))
    assert [r.position for r in again] == [claimed[1].position]
    assert again[0].attempts == 2
    store.mark_sent([claimed[1].position])
    assert store.claim_unsent(10, destination=dest, lease=timedelta(0)) == []


def test_concurrent_claimers_never_claim_the_same_row(store: SqlEventStore) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL only; SQLite serialises claimers")
    dest = _destination()
    total = 60
    for chunk in range(0, total, 20):
        store.append(
            _stream(), 0, [_placed()], [OutboxMessage(dest, {"i": chunk + i}) for i in range(20)]
        )
    claimers = 4
    barrier = threading.Barrier(claimers)
    claimed: list[list[int]] = [[] for _ in range(claimers)]
    errors: list[BaseException] = []

    def claim(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            while batch := store.claim_unsent(3, destination=dest):
                claimed[i].extend(r.position for r in batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    everything = [p for positions in claimed for p in positions]
    assert len(everything) == len(set(everything)) == total


def test_migrate_is_idempotent_and_safe_concurrently(database_url: str) -> None:
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        for result in [pool.submit(migrate, database_url) for _ in range(3)]:
            result.result(timeout=120)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(database_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    migrate(database_url)
    assert errors == []
    engine = create_engine_for(database_url)
    try:
        store = SqlEventStore(engine)
        stream = _stream()
        store.append(stream, 0, [_placed()], [])
        assert len(store.read_stream(stream)) == 1
    finally:
        engine.dispose()


def test_migrations_match_the_store_tables(store: SqlEventStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from services.orders.adapters.event_store import metadata

    def ours(name: str | None, type_: str, parent_names: Any) -> bool:
        # the database may be shared with other services' tables
        return type_ != "table" or name in metadata.tables

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, metadata)
    assert diff == []
