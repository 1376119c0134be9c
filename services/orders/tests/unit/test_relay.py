"""The outbox relay on the in-memory outbox with brokers that only remember: waves, order per
stream, refusals and outages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from services.orders.adapters.memory import InMemoryDatabase, InMemoryEventStore, InMemoryOutbox
from services.orders.backoff import Backoff, delay
from services.orders.ports import (
    BrokerUnavailable,
    NewEvent,
    OutboxMessage,
    OutboxRecord,
    PublishOutcome,
)
from services.orders.relay import OutboxRelay, in_waves
from services.orders.settings import RelaySettings

SETTINGS = RelaySettings(backoff_initial_seconds=60, backoff_max_seconds=60)


class Broker:
    """Accepts everything, except the streams in ``refused`` (or nothing while ``down``)."""

    def __init__(self) -> None:
        self.calls: list[list[OutboxRecord]] = []
        self.refused: set[str] = set()
        self.down = False

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        if self.down:
            raise BrokerUnavailable("connection refused")
        self.calls.append(list(records))
        return PublishOutcome(
            sent=[r.position for r in records if r.stream not in self.refused],
            failed={r.position: "Refused: test" for r in records if r.stream in self.refused},
        )

    def published(self) -> list[tuple[str, int]]:
        return [(r.stream, r.body["n"]) for call in self.calls for r in call]


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


def test_backoff_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    backoff = Backoff(0.2, 1.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.reset()
    assert backoff.next_delay() == 0.2
    assert [delay(0.1, 10, failures) for failures in (0, 1, 2, 3)] == [0.1, 0.1, 0.2, 0.4]
