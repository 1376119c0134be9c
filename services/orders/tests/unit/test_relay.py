"""The outbox relay on the in-memory outbox with brokers that only remember: waves, order per
stream, refusals and outages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from services.orders.adapters.memory import InMemoryDatabase, InMemoryEventStore, InMemoryOutbox
from services.orders.ports import (
    BrokerUnavailable,
    NewEvent,
    OutboxMessage,
    OutboxRecord,
    PublishOutcome,
)
from services.orders.relay import OutboxRelay, in_waves, parks
from services.orders.settings import RelaySettings

SETTINGS = RelaySettings(backoff_initial_seconds=60, backoff_max_seconds=60)
# Refused records are claimable again at once: each pass is an attempt.
AT_ONCE = RelaySettings(
    backoff_initial_seconds=0.001, backoff_max_seconds=0.001, park_after_attempts=3
)


class Broker:
    """Accepts everything, except the streams in ``refused`` (failed: its own fault) and in
    ``rejected`` (the record's fault), or nothing while ``down``."""

    def __init__(self) -> None:
        self.calls: list[list[OutboxRecord]] = []
        self.refused: set[str] = set()
        self.rejected: set[str] = set()
        self.down = False

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        if self.down:
            raise BrokerUnavailable("connection refused")
        self.calls.append(list(records))
        return PublishOutcome(
            sent=[r.position for r in records if r.stream not in self.refused | self.rejected],
            failed={r.position: "Refused: test" for r in records if r.stream in self.refused},
            rejected={
                r.position: "InvalidParameter: test" for r in records if r.stream in self.rejected
            },
        )

    def published(self) -> list[tuple[str, int]]:
        return [(r.stream, r.body["n"]) for call in self.calls for r in call]


class Metrics:
    def __init__(self) -> None:
        self.parked: list[int] = []

    def records_parked(self, count: int) -> None:
        self.parked.append(count)


@pytest.fixture
def database() -> InMemoryDatabase:
    return InMemoryDatabase()


@pytest.fixture
def outbox(database: InMemoryDatabase) -> InMemoryOutbox:
    return InMemoryOutbox(database)


def queue(database: InMemoryDatabase, order: str, count: int, destination: str = "sns") -> None:
    store = InMemoryEventStore(database)
    version = len(store.read_stream(order))
    numbers = range(version + 1, version + count + 1)
    store.append(
        order,
        version,
        [NewEvent("OrderNoted", {}) for _ in numbers],
        [OutboxMessage(destination, {"correlation_id": order, "n": n}) for n in numbers],
    )


def test_a_stream_goes_out_one_record_per_call_in_order(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    broker = Broker()
    for order in ("a", "b"):
        queue(database, order, 3)

    assert OutboxRelay(outbox, {"sns": broker}, SETTINGS).relay_once() == 6

    assert [[r.stream for r in call] for call in broker.calls] == [["a", "b"]] * 3
    assert [n for stream, n in broker.published() if stream == "a"] == [1, 2, 3]
    assert outbox.status(["sns"]).backlog == 0


def test_a_refused_record_waits_and_holds_back_its_stream_only(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    broker = Broker()
    broker.refused = {"stuck"}
    queue(database, "stuck", 2)
    queue(database, "free", 2)
    relay = OutboxRelay(outbox, {"sns": broker}, SETTINGS)

    assert relay.relay_once() == 2
    assert relay.relay_once() == 0  # the refused record waits out its backoff

    assert ("stuck", 2) not in broker.published()
    assert outbox.status(["sns"]).backlog == 2


def test_while_the_broker_is_down_nothing_is_lost_and_all_is_claimable_again(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    broker = Broker()
    broker.down = True
    queue(database, "a", 2)
    relay = OutboxRelay(outbox, {"sns": broker}, SETTINGS)

    with pytest.raises(BrokerUnavailable):
        relay.relay_once()

    assert outbox.status(["sns"]).backlog == 2
    assert len(outbox.claim(["sns"], 10, timedelta(seconds=1))["sns"]) == 2


def test_drain_publishes_until_the_outbox_is_empty(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    queue(database, "a", 3)
    queue(database, "b", 1, destination="fifo")

    published = OutboxRelay(outbox, {"sns": Broker(), "fifo": Broker()}, SETTINGS).drain()

    assert published == 4
    assert outbox.status().backlog == 0


def test_waves_hold_one_record_per_stream_and_a_streams_nth_record_in_wave_n(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    queue(database, "a", 2)
    queue(database, "b", 1)
    queue(database, "a", 1)
    records = outbox.claim(["sns"], 10, timedelta(seconds=30))["sns"]

    waves = in_waves(records)

    assert [[(r.stream, r.body["n"]) for r in wave] for wave in waves] == [
        [("a", 1), ("b", 1)],
        [("a", 2)],
        [("a", 3)],
    ]


def test_a_rejected_record_is_parked_at_its_third_attempt_and_counted(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    broker, metrics = Broker(), Metrics()
    broker.rejected = {"bad"}
    queue(database, "bad", 2)
    queue(database, "good", 1)
    relay = OutboxRelay(
        outbox, {"sns": broker}, AT_ONCE, metrics=metrics, random_source=lambda: 0.0
    )

    relay.relay_once()
    assert outbox.parked() == []
    wait_out_the_retry(outbox)
    relay.relay_once()
    assert outbox.parked() == []
    wait_out_the_retry(outbox)
    relay.relay_once()

    [parked] = outbox.parked()
    assert (parked.stream, parked.body["n"], parked.attempts) == ("bad", 1, 3)
    assert parked.park_reason == "InvalidParameter: test"
    assert metrics.parked == [1]
    # its order's later record stays behind it; other orders flow
    assert relay.relay_once() == 0
    assert ("bad", 2) not in broker.published() and ("good", 1) in broker.published()
    assert outbox.status(["sns"]).parked == 1


def test_a_record_the_broker_fails_for_its_own_reasons_is_never_parked(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    broker, metrics = Broker(), Metrics()
    broker.refused = {"throttled"}
    queue(database, "throttled", 1)
    relay = OutboxRelay(outbox, {"sns": broker}, AT_ONCE, metrics=metrics)

    for _ in range(6):
        wait_out_the_retry(outbox)
        relay.relay_once()

    assert outbox.parked() == [] and metrics.parked == []
    assert len(broker.calls) == 6


def test_a_retried_parked_record_is_published_and_its_stream_follows(
    database: InMemoryDatabase, outbox: InMemoryOutbox
) -> None:
    broker = Broker()
    broker.rejected = {"bad"}
    queue(database, "bad", 2)
    relay = OutboxRelay(outbox, {"sns": broker}, RelaySettings(park_after_attempts=1))
    relay.relay_once()
    [parked] = outbox.parked()

    broker.rejected = set()
    outbox.retry_parked(parked.position)

    assert relay.drain() == 2
    assert broker.published()[-2:] == [("bad", 1), ("bad", 2)]


@pytest.mark.parametrize(("attempt", "parked"), [(1, False), (2, False), (3, True), (9, True)])
def test_parks_from_the_bound_on(attempt: int, parked: bool) -> None:
    assert parks(attempt, RelaySettings(park_after_attempts=3)) is parked


def wait_out_the_retry(outbox: InMemoryOutbox) -> None:
    """Let every waiting record be claimed now (as if its retry delay ran out)."""
    outbox.release([r.position for r in outbox.database.outbox_records() if r.sent_at is None])
