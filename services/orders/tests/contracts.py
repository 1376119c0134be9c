"""The contract of every event store and outbox, written once.

Each adapter's tests subclass ``EventStoreContract`` and ``OutboxContract`` and provide the
fixtures ``store`` and ``outbox`` (an outbox of the store's database): the in-memory adapters in
``tests/unit``, SQLite and PostgreSQL in ``tests/integration``. Every test uses its own stream
ids and outbox destinations, so runs share a PostgreSQL database safely, also in parallel.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.orders.ports import (
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    IdempotencyKey,
    IdempotencyKeyTaken,
    NewEvent,
    Outbox,
    OutboxMessage,
    OutboxRecord,
)

LEASE = timedelta(seconds=30)


def stream() -> str:
    """A fresh stream id, shaped as an order id."""
    return str(uuid.uuid4())


def destination(kind: str = "sns") -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def placed(n: int = 1) -> NewEvent:
    return NewEvent(type="OrderPlaced", payload={"n": n, "total": "12.50"}, metadata={"c": "x"})


def race(writers: int, write: Callable[[int], NewEvent]) -> list[Any]:
    """``writers`` threads calling ``write(i)`` at once: the event each appended, or the error
    it got."""
    barrier = threading.Barrier(writers)
    outcomes: list[Any] = [None] * writers

    def run(i: int) -> None:
        barrier.wait(timeout=10)
        try:
            outcomes[i] = write(i)
        except Exception as exc:  # surfaced by the assertions of the callers
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


class EventStoreContract:
    """Streams, positions, optimistic concurrency, and what an append writes with its events."""

    def test_append_then_read_stream_round_trips(self, store: EventStore) -> None:
        stream_id = stream()
        first = NewEvent(
            type="OrderPlaced",
            payload={"order_id": stream_id, "lines": [{"sku": "A", "qty": 2}]},
            schema_version=2,
            metadata={"correlation_id": "c-1"},
        )
        second = NewEvent(type="PaymentCaptured", payload={"amount": "9.99"})
        written = store.append(stream_id, 0, [first, second], [])

        read = store.read_stream(stream_id)
        assert read == written
        assert [(e.version, e.type) for e in read] == [(1, "OrderPlaced"), (2, "PaymentCaptured")]
        assert read[0].event_id == first.event_id
        assert read[0].payload == {"order_id": stream_id, "lines": [{"sku": "A", "qty": 2}]}
        assert read[0].schema_version == 2
        assert read[0].metadata == {"correlation_id": "c-1"}
        assert read[1].schema_version == 1
        assert read[0].recorded_at.tzinfo is not None
        assert store.read_stream(stream_id, after_version=1) == [read[1]]
        assert store.read_stream(stream()) == []

    def test_positions_increase_and_read_all_follows_them(self, store: EventStore) -> None:
        stream_id = stream()
        a = store.append(stream_id, 0, [placed(1), placed(2)], [])
        b = store.append(stream_id, 2, [placed(3)], [])
        positions = [e.position for e in a + b]
        assert positions == sorted(positions)
        assert len(set(positions)) == 3
        assert [e.version for e in store.read_stream(stream_id)] == [1, 2, 3]

        after = store.read_all(after_position=positions[0] - 1, limit=10_000)
        mine = [e for e in after if e.stream_id == stream_id]
        assert [e.position for e in mine] == positions
        assert all(x.position < y.position for x, y in itertools.pairwise(after))
        assert all(e.position > positions[1] for e in store.read_all(positions[1], 10))
        assert len(store.read_all(positions[0] - 1, limit=1)) == 1

    def test_wrong_expected_version_raises_and_writes_nothing(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        stream_id = stream()
        [first] = store.append(stream_id, 0, [placed()], [])
        intruder = placed(2)
        queue = destination()
        message = OutboxMessage(queue, {"type": "OrderPlaced"}, event_id=intruder.event_id)

        for expected in (0, 2, 5):
            with pytest.raises(ConcurrencyError) as info:
                store.append(stream_id, expected, [intruder], [message])
            assert info.value.expected_version == expected
            assert info.value.actual_version == 1

        assert [e.version for e in store.read_stream(stream_id)] == [1]
        assert outbox.status([queue]).backlog == 0
        recorded = store.read_all(first.position - 1, limit=10_000)
        assert intruder.event_id not in {e.event_id for e in recorded}

    def test_new_stream_expects_version_zero(self, store: EventStore) -> None:
        with pytest.raises(ConcurrencyError):
            store.append(stream(), 1, [placed()], [])

    def test_two_writers_at_the_same_version_exactly_one_wins(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        for _ in range(5):
            stream_id, queue = stream(), destination()
            store.append(stream_id, 0, [placed()], [])

            def write(i: int, stream_id: str = stream_id, queue: str = queue) -> NewEvent:
                event = placed(i)
                message = OutboxMessage(queue, {"i": i}, None, event.event_id)
                store.append(stream_id, 1, [event], [message])
                return event

            outcomes = race(2, write)
            winners = [o for o in outcomes if isinstance(o, NewEvent)]
            losers = [o for o in outcomes if isinstance(o, ConcurrencyError)]
            assert len(winners) == 1 and len(losers) == 1, outcomes
            read = store.read_stream(stream_id)
            assert [e.version for e in read] == [1, 2]
            assert read[1].event_id == winners[0].event_id
            assert outbox.status([queue]).backlog == 1

    def test_outbox_rows_are_written_with_their_events(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        stream_id = stream()
        event = placed()
        sns, fifo, bus = destination("sns"), destination("fifo"), destination("bus")
        messages = [
            OutboxMessage(
                sns, {"type": "OrderPlaced", "order": stream_id}, event_id=event.event_id
            ),
            OutboxMessage(fifo, {"charge": "12.50"}, group_id=stream_id, event_id=event.event_id),
            OutboxMessage(bus, {"detail": "risky"}, event_id=event.event_id),
        ]
        [recorded] = store.append(stream_id, 0, [event], messages)

        claimed = outbox.claim([sns, fifo, bus], 10, LEASE)
        rows = sorted((r for records in claimed.values() for r in records), key=_position)
        assert [(r.destination, dict(r.body), r.group_id) for r in rows] == [
            (m.destination, dict(m.body), m.group_id) for m in messages
        ]
        assert all(r.event_position == recorded.position for r in rows)
        assert all(r.event_id == event.event_id for r in rows)
        assert all(r.sent_at is None and r.attempts == 0 for r in rows)

    def test_a_recorded_event_id_is_refused_and_nothing_is_written(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        stream_id, queue = stream(), destination()
        [first] = store.append(stream_id, 0, [placed()], [])
        again = NewEvent(type="OrderNoted", payload={}, event_id=first.event_id)

        with pytest.raises(DuplicateEventError):
            store.append(stream_id, 1, [again], [OutboxMessage(queue, {"n": 1})])

        assert store.read_stream(stream_id) == [first]
        assert outbox.status([queue]).backlog == 0

    def test_an_idempotency_key_is_stored_with_the_events(self, store: EventStore) -> None:
        stream_id = stream()
        key = IdempotencyKey(f"key-{uuid.uuid4()}", "fingerprint", stream_id)
        assert store.idempotency_key(key.key) is None

        store.append(stream_id, 0, [placed()], [], idempotency_key=key)

        assert store.idempotency_key(key.key) == key

    def test_a_taken_idempotency_key_is_refused_and_nothing_is_written(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        key = IdempotencyKey(f"key-{uuid.uuid4()}", "first", stream())
        store.append(key.order_id, 0, [placed()], [], idempotency_key=key)
        other, queue = stream(), destination()

        with pytest.raises(IdempotencyKeyTaken, match=key.key):
            store.append(
                other,
                0,
                [placed()],
                [OutboxMessage(queue, {"n": 1})],
                idempotency_key=IdempotencyKey(key.key, "second", other),
            )

        assert store.read_stream(other) == []
        assert outbox.status([queue]).backlog == 0
        assert store.idempotency_key(key.key) == key

    def test_placements_racing_with_one_key_store_one(self, store: EventStore) -> None:
        key = IdempotencyKey(f"key-{uuid.uuid4()}", "same", stream())

        def place(i: int) -> NewEvent:
            event = placed(i)
            store.append(stream(), 0, [event], [], idempotency_key=key)
            return event

        outcomes = race(4, place)

        assert len([o for o in outcomes if isinstance(o, NewEvent)]) == 1, outcomes
        assert len([o for o in outcomes if isinstance(o, IdempotencyKeyTaken)]) == 3, outcomes

    def test_an_access_digest_is_stored_with_the_first_events_and_not_in_them(
        self, store: EventStore
    ) -> None:
        stream_id, digest = stream(), uuid.uuid4().hex * 2
        assert store.access_digest(stream_id) is None

        [event] = store.append(stream_id, 0, [placed()], [], access_digest=digest)

        assert store.access_digest(stream_id) == digest
        assert digest not in repr(event)
        assert store.access_digest(stream()) is None

    def test_a_refused_append_stores_no_access_digest(self, store: EventStore) -> None:
        key = IdempotencyKey(f"key-{uuid.uuid4()}", "first", stream())
        store.append(key.order_id, 0, [placed()], [], idempotency_key=key)
        other = stream()

        with pytest.raises(IdempotencyKeyTaken):
            store.append(
                other,
                0,
                [placed()],
                [],
                idempotency_key=IdempotencyKey(key.key, "second", other),
                access_digest="f" * 64,
            )

        assert store.access_digest(other) is None


class OutboxContract:
    """Claims under a lease in order per stream, releases, sent records, backlog and lag."""

    def test_claims_take_the_oldest_records_of_each_destination(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        sns, fifo = destination("sns"), destination("fifo")
        bodies = _queue(store, [sns, fifo], streams=4)

        claimed = outbox.claim([sns, fifo], 3, LEASE)

        assert [dict(r.body) for r in claimed[sns]] == bodies[:3]
        assert [dict(r.body) for r in claimed[fifo]] == bodies[:3]
        assert all(r.attempts == 0 and r.sent_at is None for r in claimed[sns])
        # leased: the next claim only sees the rest
        assert [dict(r.body) for r in outbox.claim([sns], 10, LEASE)[sns]] == bodies[3:]
        assert outbox.claim([sns], 10, LEASE) == {sns: []}

    def test_a_leased_record_holds_back_the_later_records_of_its_stream(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue, held, free = destination(), stream(), stream()
        _append(store, held, [queue], 1)
        [first] = outbox.claim([queue], 1, LEASE)[queue]
        later = _append(store, held, [queue], 1)
        other = _append(store, free, [queue], 1)

        claimed = outbox.claim([queue], 10, LEASE)[queue]

        assert first.stream == held
        assert [dict(r.body) for r in claimed] == other
        outbox.mark_sent([first.position])
        assert [dict(r.body) for r in outbox.claim([queue], 10, LEASE)[queue]] == later

    def test_released_records_are_claimable_again_in_order(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue, order = destination(), stream()
        bodies = _append(store, order, [queue], 3)
        claimed = outbox.claim([queue], 10, LEASE)[queue]
        assert [dict(r.body) for r in claimed] == bodies

        outbox.release([r.position for r in claimed])

        again = outbox.claim([queue], 10, LEASE)[queue]
        assert [dict(r.body) for r in again] == bodies
        assert [r.attempts for r in again] == [1, 1, 1]

    def test_a_record_released_until_later_waits_and_holds_back_its_stream(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue, order = destination(), stream()
        _append(store, order, [queue], 2)
        first, second = outbox.claim([queue], 10, LEASE)[queue]

        outbox.release([second.position])
        outbox.release([first.position], datetime.now(UTC) + timedelta(hours=1))

        assert outbox.claim([queue], 10, LEASE) == {queue: []}
        assert outbox.status([queue]).backlog == 2

    def test_a_lease_that_ran_out_is_claimed_again(self, store: EventStore, outbox: Outbox) -> None:
        queue = destination()
        _append(store, stream(), [queue], 1)
        _append(store, stream(), [queue], 1)
        claimed = outbox.claim([queue], 10, timedelta(0))[queue]
        assert len(claimed) == 2
        outbox.mark_sent([claimed[0].position])

        again = outbox.claim([queue], 10, timedelta(0))[queue]
        assert [r.position for r in again] == [claimed[1].position]
        assert again[0].attempts == 1
        outbox.mark_sent([claimed[1].position])
        assert outbox.claim([queue], 10, timedelta(0)) == {queue: []}

    def test_sent_records_leave_the_backlog_and_are_never_claimed_again(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue = destination()
        _append(store, stream(), [queue], 3)
        claimed = outbox.claim([queue], 10, LEASE)[queue]

        outbox.mark_sent([r.position for r in claimed[:2]])
        outbox.release([r.position for r in claimed])

        assert outbox.status([queue]).backlog == 1
        assert [r.position for r in outbox.claim([queue], 10, LEASE)[queue]] == [
            claimed[2].position
        ]

    def test_status_reports_backlog_and_lag_per_destination(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        sns, fifo, idle = destination("sns"), destination("fifo"), destination("bus")
        _append(store, stream(), [sns], 3)
        _append(store, stream(), [fifo], 1)

        status = outbox.status([sns, fifo, idle])

        assert set(status.destinations) == {sns, fifo, idle}
        assert status.destinations[sns].backlog == 3
        assert status.destinations[fifo].backlog == 1
        assert status.destinations[idle].backlog == 0
        assert status.destinations[idle].lag_seconds == 0.0
        assert status.backlog == 4
        assert 0 <= status.lag_seconds < 30
        assert f"{sns}=3" in status.describe()
        assert {sns, fifo} <= set(outbox.status().destinations)

    def test_a_parked_record_is_never_claimed_and_holds_back_its_stream_only(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue, stuck, free = destination(), stream(), stream()
        _append(store, stuck, [queue], 2)
        _append(store, free, [queue], 1)
        claimed = outbox.claim([queue], 10, LEASE)[queue]
        first = claimed[0]
        outbox.release([r.position for r in claimed])

        outbox.park(first.position, "InvalidParameter: too long")

        claimed = outbox.claim([queue], 10, LEASE)[queue]
        assert [r.stream for r in claimed] == [free]
        [parked] = [r for r in outbox.parked() if r.destination == queue]
        assert parked.position == first.position
        assert parked.park_reason == "InvalidParameter: too long"
        assert parked.parked_at is not None and parked.sent_at is None
        status = outbox.status([queue]).destinations[queue]
        assert (status.backlog, status.parked) == (3, 1)

    def test_a_retried_parked_record_goes_first_again_with_its_attempts_reset(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue, order = destination(), stream()
        bodies = _append(store, order, [queue], 2)
        first = outbox.claim([queue], 1, LEASE)[queue][0]
        outbox.park(first.position, "refused")

        retried = outbox.retry_parked(first.position)

        assert retried is not None and retried.park_reason == "refused"
        assert outbox.retry_parked(first.position) is None
        again = outbox.claim([queue], 10, LEASE)[queue]
        assert [dict(r.body) for r in again] == bodies
        assert again[0].attempts == 0 and again[0].parked_at is None
        assert outbox.status([queue]).destinations[queue].parked == 0

    def test_a_discarded_parked_record_leaves_the_backlog_and_releases_its_stream(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue, order = destination(), stream()
        bodies = _append(store, order, [queue], 2)
        first = outbox.claim([queue], 1, LEASE)[queue][0]
        outbox.park(first.position, "refused")

        assert outbox.discard_parked(first.position) is not None
        assert outbox.discard_parked(first.position) is None
        assert outbox.retry_parked(first.position) is None

        assert [dict(r.body) for r in outbox.claim([queue], 10, LEASE)[queue]] == bodies[1:]
        assert outbox.status([queue]).destinations[queue].backlog == 1
        assert all(r.position != first.position for r in outbox.parked())

    def test_only_a_parked_record_can_be_retried_or_discarded(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue = destination()
        _append(store, stream(), [queue], 1)
        [record] = outbox.claim([queue], 1, LEASE)[queue]

        assert outbox.retry_parked(record.position) is None
        assert outbox.discard_parked(record.position) is None
        outbox.mark_sent([record.position])
        outbox.park(record.position, "too late: it was sent")
        assert all(r.position != record.position for r in outbox.parked())

    def test_concurrent_claims_never_take_the_same_record(
        self, store: EventStore, outbox: Outbox
    ) -> None:
        queue = destination()
        total = 60
        for _ in range(total):
            _append(store, stream(), [queue], 1)
        claimers = 4
        barrier = threading.Barrier(claimers)
        claimed: list[list[int]] = [[] for _ in range(claimers)]
        errors: list[BaseException] = []

        def claim(i: int) -> None:
            try:
                barrier.wait(timeout=10)
                while batch := outbox.claim([queue], 3, LEASE)[queue]:
                    claimed[i].extend(r.position for r in batch)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(claimers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        everything = [p for positions in claimed for p in positions]
        assert len(everything) == len(set(everything)) == total


def _position(record: OutboxRecord) -> int:
    return record.position


def _append(
    store: EventStore, stream_id: str, destinations: list[str], count: int
) -> list[dict[str, Any]]:
    """``count`` events on ``stream_id``, each with a record for every destination whose body
    names the stream (as an envelope's correlation id does); the bodies."""
    version = len(store.read_stream(stream_id))
    numbers = range(version + 1, version + count + 1)
    bodies: list[dict[str, Any]] = [{"correlation_id": stream_id, "n": n} for n in numbers]
    events = [placed(n) for n in numbers]
    store.append(
        stream_id,
        version,
        events,
        [
            OutboxMessage(queue, body, stream_id, event.event_id)
            for event, body in zip(events, bodies, strict=True)
            for queue in destinations
        ],
    )
    return bodies


def _queue(store: EventStore, destinations: list[str], streams: int) -> list[dict[str, Any]]:
    """One record per stream for every destination; the bodies, oldest first."""
    return [body for _ in range(streams) for body in _append(store, stream(), destinations, 1)]
