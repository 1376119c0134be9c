"""The order-updates worker with a queue and a store that only pretend: the circuit breaker
while the store is down, and the visibility backoff of a failed message."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.orders.breaker import BreakerState
from services.orders.settings import WorkerSettings
from services.orders.worker import OrderUpdatesWorker
from shared import contracts
from shared.envelope import Envelope

SETTINGS = WorkerSettings(wait_seconds=0, retry_initial_seconds=10, retry_max_seconds=300)


@dataclass
class Message:
    body: str
    receives: int = 0
    visible: bool = True


@dataclass
class Queue:
    """An SQS queue in memory: receive counts, visibility (set explicitly), deletes."""

    messages: dict[str, Message] = field(default_factory=dict)
    receive_sizes: list[int] = field(default_factory=list)
    visibility: dict[str, int] = field(default_factory=dict)

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.messages[f"m{len(self.messages)}"] = Message(body)

    def receive_message(self, *, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        self.receive_sizes.append(MaxNumberOfMessages)
        taken = [(i, m) for i, m in self.messages.items() if m.visible][:MaxNumberOfMessages]
        for _message_id, message in taken:
            message.receives += 1
            message.visible = False
        return {
            "Messages": [
                {
                    "MessageId": message_id,
                    "ReceiptHandle": message_id,
                    "Body": message.body,
                    "Attributes": {"ApproximateReceiveCount": str(message.receives)},
                }
                for message_id, message in taken
            ]
        }

    def change_message_visibility(
        self, *, ReceiptHandle: str, VisibilityTimeout: int, **_: Any
    ) -> None:
        self.visibility[ReceiptHandle] = VisibilityTimeout

    def delete_message_batch(self, *, Entries: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        for entry in Entries:
            del self.messages[entry["ReceiptHandle"]]
        return {"Successful": Entries}

    def expire_visibility(self) -> None:
        """Every message in flight is visible again (its visibility timeout ran out)."""
        for message in self.messages.values():
            message.visible = True


class Store:
    """Applies replies while ``up``; fails the way a lost database does while down."""

    def __init__(self) -> None:
        self.up = True
        self.applied: list[str] = []
        self.probes = 0

    def apply(self, envelope: Envelope) -> None:
        if not self.up:
            raise ConnectionRefusedError("connection refused")
        self.applied.append(str(envelope.event_id))

    def probe(self) -> None:
        self.probes += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")


def replies(count: int) -> list[str]:
    return [
        contracts.envelope_for(contracts.InventoryReserved(order_id=f"order-{n}")).to_json()
        for n in range(count)
    ]


def worker_on(
    queue: Queue,
    store: Store,
    apply: Callable[[Envelope], None] | None = None,
    random_source: Callable[[], float] = lambda: 0.0,
) -> OrderUpdatesWorker:
    return OrderUpdatesWorker(
        queue,
        "queue-url",
        apply or store.apply,
        SETTINGS,
        store_probe=store.probe,
        random_source=random_source,
    )


def test_a_store_outage_opens_the_breaker_and_puts_the_whole_batch_back_untried() -> None:
    queue, store = Queue(), Store()
    queue.send(*replies(3))
    worker = worker_on(queue, store)
    store.up = False

    outcome = worker.poll_once()

    assert worker.breaker.state is BreakerState.OPEN
    assert outcome.retried == ["m0", "m1", "m2"] and outcome.applied == []
    assert queue.visibility == {"m0": 10, "m1": 10, "m2": 10}


def test_while_the_breaker_is_open_nothing_is_received_however_long_the_outage() -> None:
    queue, store = Queue(), Store()
    queue.send(*replies(3))
    worker = worker_on(queue, store)
    store.up = False
    worker.poll_once()

    for _ in range(50):
        queue.expire_visibility()
        assert worker.poll_once().paused

    assert len(queue.receive_sizes) == 1
    assert {m.receives for m in queue.messages.values()} == {1}
    assert store.probes == 51


def test_when_the_store_answers_one_message_is_tried_then_the_worker_resumes() -> None:
    queue, store = Queue(), Store()
    queue.send(*replies(12))
    worker = worker_on(queue, store)
    store.up = False
    worker.poll_once()
    queue.expire_visibility()
    store.up = True

    half_open = worker.poll_once()
    assert queue.receive_sizes[-1] == 1 and len(half_open.applied) == 1
    assert worker.breaker.state is BreakerState.CLOSED
    while worker.poll_once().applied:
        pass

    assert queue.receive_sizes[-2] == 10
    assert len(store.applied) == 12 and queue.messages == {}


def test_a_trial_that_fails_opens_the_breaker_again_with_a_longer_probe_delay() -> None:
    queue, store = Queue(), Store()
    queue.send(*replies(2))
    flapping = {"fail": True}

    def apply(envelope: Envelope) -> None:
        if flapping["fail"]:
            store.up = False
            raise ConnectionRefusedError("gone again")
        store.apply(envelope)

    worker = worker_on(queue, store, apply, random_source=lambda: 0.0)
    worker.poll_once()
    first = worker.breaker.next_delay()
    store.up = True
    queue.expire_visibility()

    assert worker.poll_once().retried == ["m0"]
    assert worker.breaker.state is BreakerState.OPEN
    assert worker.breaker.next_delay() == 2 * first


def test_a_failure_the_store_does_not_share_retries_the_message_with_a_growing_visibility() -> None:
    queue, store = Queue(), Store()
    queue.send(*replies(2))

    def apply(envelope: Envelope) -> None:
        if str(envelope.correlation_id) == "order-0":
            raise RuntimeError("a bug in this reply")
        store.apply(envelope)

    worker = worker_on(queue, store, apply)
    seen: list[int] = []
    for _ in range(4):
        worker.poll_once()
        seen.append(queue.visibility["m0"])
        queue.expire_visibility()

    assert worker.breaker.state is BreakerState.CLOSED
    assert len(store.applied) == 1
    assert seen == [10, 20, 40, 80]


@pytest.mark.parametrize(
    ("draw", "visibilities"),
    [(0.0, [10, 20, 40, 80, 160, 300]), (0.999, [6, 11, 21, 41, 81, 151])],
)
def test_the_retry_visibility_keeps_at_least_half_its_ceiling(
    draw: float, visibilities: list[int]
) -> None:
    worker = worker_on(Queue(), Store(), random_source=lambda: draw)

    assert [worker.retry_visibility_after(n) for n in range(1, 7)] == visibilities


def test_four_failed_receives_outlast_a_sixty_second_outage_in_production() -> None:
    """The production queue dead-letters at the sixth receive (maxReceiveCount 5): the fifth
    comes at least 75 s after the first, jitter or not."""
    worst = worker_on(Queue(), Store(), random_source=lambda: 0.999999)
    assert sum(worst.retry_visibility_after(n) for n in range(1, 5)) >= 75 > 60


def test_run_probes_with_backoff_while_the_store_is_down_and_stops_on_request() -> None:
    queue, store = Queue(), Store()
    queue.send(*replies(1))
    store.up = False
    worker = worker_on(queue, store)
    stop = threading.Event()
    waits: list[float] = []
    real_wait = stop.wait

    def wait(timeout: float | None = None) -> bool:
        waits.append(timeout or 0.0)
        if len(waits) == 4:
            stop.set()
        return real_wait(0)

    stop.wait = wait  # type: ignore[method-assign]
    worker.run(stop)

    assert waits == [0.5, 1.0, 2.0, 4.0]
    assert len(queue.receive_sizes) == 1
