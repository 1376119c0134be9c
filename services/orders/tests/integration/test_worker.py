"""The order-updates worker against LocalStack queues and the real order service."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import Engine, event, make_url

from services.orders import bootstrap
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.service import OrderService
from services.orders.settings import OrdersSettings, WorkerSettings
from services.orders.worker import OrderUpdatesWorker
from shared import contracts
from shared.envelope import Envelope
from shared.settings import AwsSettings
from shared.tests.databases import database_unavailable
from shared.tests.polling import eventually
from shared.tests.queues import arn_of

pytestmark = pytest.mark.integration


@pytest.fixture
def sqs(localstack: Any) -> Any:
    return localstack.client("sqs")


@pytest.fixture
def updates(sqs: Any, queues: Callable[..., str], unique_name: str) -> tuple[str, str]:
    """The order-updates queue (visibility 1 s, poison to the DLQ after 2 receives) and DLQ."""
    dlq = queues(f"{unique_name}-updates-dlq")
    queue = queues(
        f"{unique_name}-updates",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": "2"}),
    )
    return queue, dlq


def _store_up() -> None:
    """The probe of a store that answers (these tests do not take it away)."""


def _place(service: OrderService) -> str:
    order_id = service.new_order_id()
    service.place(
        PlaceOrder(
            order_id=order_id,
            customer_email="ada@example.com",
            shipping_country="DE",
            currency="EUR",
            lines=(LineRequest("MUG-001", 2),),
            payment_token="tok_approve",
        )
    )
    return order_id


def _replies(order_id: str) -> list[Envelope]:
    amount = contracts.Money(amount=2598, currency="EUR")
    return [
        contracts.envelope_for(contracts.InventoryReserved(order_id=order_id)),
        contracts.envelope_for(
            contracts.PaymentAuthorized(order_id=order_id, authorization_id="auth-1", amount=amount)
        ),
        contracts.envelope_for(contracts.FraudCheckSkipped(order_id=order_id)),
    ]


class Polls:
    """The messages a worker applied over the polls so far."""

    def __init__(self, worker: OrderUpdatesWorker) -> None:
        self.worker = worker
        self.applied: list[str] = []

    def applied_after_one_more(self, count: int) -> bool:
        self.applied.extend(self.worker.poll_once().applied)
        return len(self.applied) == count


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _send(sqs: Any, url: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def test_replies_are_applied_and_deleted_and_the_order_is_confirmed(
    service: OrderService, sqs: Any, updates: tuple[str, str]
) -> None:
    queue, _ = updates
    order_id = _place(service)
    _send(sqs, queue, *(e.to_json() for e in _replies(order_id)))
    worker = OrderUpdatesWorker(
        sqs, queue, service.apply_reply, WorkerSettings(wait_seconds=1), store_probe=_store_up
    )

    polls = Polls(worker)
    eventually(lambda: polls.applied_after_one_more(3), "3 applied")

    assert str(service.get(order_id).state.status) == "confirmed"
    assert _depth(sqs, queue) == 0


def test_a_redelivered_reply_is_absorbed(
    service: OrderService, sqs: Any, updates: tuple[str, str]
) -> None:
    queue, _ = updates
    order_id = _place(service)
    reserved = _replies(order_id)[0]
    _send(sqs, queue, reserved.to_json(), reserved.to_json())
    worker = OrderUpdatesWorker(
        sqs, queue, service.apply_reply, WorkerSettings(wait_seconds=1), store_probe=_store_up
    )

    polls = Polls(worker)
    eventually(lambda: polls.applied_after_one_more(2), "2 taken")

    history = [e.event_id for e in service.history(order_id)]
    assert history.count(reserved.event_id) == 1
    assert _depth(sqs, queue) == 0


def test_poison_goes_to_the_dead_letter_queue_and_good_messages_still_flow(
    service: OrderService,
    sqs: Any,
    updates: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue, dlq = updates
    order_id = _place(service)
    unknown_order = contracts.envelope_for(contracts.InventoryReserved(order_id="no-such-order"))
    not_a_reply = contracts.envelope_for(
        contracts.OrderCancelled(order_id=order_id, reason="forged")
    )
    _send(sqs, queue, "{not json", unknown_order.to_json(), not_a_reply.to_json())
    _send(sqs, queue, _replies(order_id)[0].to_json())
    worker = OrderUpdatesWorker(
        sqs, queue, service.apply_reply, WorkerSettings(wait_seconds=1), store_probe=_store_up
    )

    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop,))
    runner.start()
    try:
        eventually(lambda: _depth(sqs, dlq) == 3, "the three poison messages in the DLQ")
        eventually(lambda: _depth(sqs, queue) == 0, "the queue drained")
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()

    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert sorted(m["Body"] for m in messages["Messages"]) == sorted(
        ["{not json", unknown_order.to_json(), not_a_reply.to_json()]
    )
    assert str(service.get(order_id).state.stock) == "reserved"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "orders.worker")
    assert "MalformedMessage: message is not JSON" in logged
    assert "UnknownOrder" in logged
    assert "left for the dead-letter queue" in logged


def test_a_transient_failure_is_retried_until_it_applies(
    sqs: Any, updates: tuple[str, str]
) -> None:
    queue, dlq = updates
    envelope = contracts.envelope_for(contracts.InventoryReserved(order_id="order-x"))
    _send(sqs, queue, envelope.to_json())
    seen: list[Envelope] = []

    def flaky(received: Envelope) -> None:
        seen.append(received)
        if len(seen) == 1:
            raise ConnectionError("database briefly unavailable")

    worker = OrderUpdatesWorker(
        sqs,
        queue,
        flaky,
        WorkerSettings(wait_seconds=1, retry_initial_seconds=0),
        store_probe=_store_up,
    )
    outcome = eventually(lambda: worker.poll_once().retried, "the first attempt failed")
    assert len(outcome) == 1
    eventually(lambda: worker.poll_once().applied, "applied on retry")
    assert [e.event_id for e in seen] == [envelope.event_id] * 2
    assert _depth(sqs, queue) == 0
    assert _depth(sqs, dlq) == 0


def test_the_worker_stops_within_its_long_poll(sqs: Any, updates: tuple[str, str]) -> None:
    queue, _ = updates
    polling = threading.Event()

    class Watched:
        def receive_message(self, **kwargs: Any) -> Any:
            polling.set()
            return sqs.receive_message(**kwargs)

    worker = OrderUpdatesWorker(
        Watched(), queue, lambda _: None, WorkerSettings(wait_seconds=2), store_probe=_store_up
    )
    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop,))
    runner.start()
    assert polling.wait(timeout=10)
    began = time.monotonic()
    stop.set()
    runner.join(timeout=10)
    assert not runner.is_alive()
    assert time.monotonic() - began < 3.0


def give_up_on_sqlite_locks_soon(url: str, engine: Engine) -> None:
    """On SQLite, the service's connections give up on a held lock after 0.3 s instead of their
    10 s busy timeout, so the outage (an exclusive lock) shows as a failure."""
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine, "connect", _short_busy_timeout)
        engine.dispose()


def _short_busy_timeout(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=300")


def test_replies_that_arrive_while_the_database_is_away_are_all_applied_afterwards(
    sqs: Any, updates: tuple[str, str], own_database_url: str
) -> None:
    """The queue dead-letters at the second receive (as the test profile's); the database is
    away for longer than two receives' visibility, and nothing reaches the DLQ."""
    queue, dlq = updates
    orders = bootstrap.orders(own_database_url)
    give_up_on_sqlite_locks_soon(own_database_url, orders.engine)
    outage = ExitStack()
    stop = threading.Event()
    runner: threading.Thread | None = None
    try:
        order_ids = [_place(orders.service) for _ in range(3)]
        worker = bootstrap.worker(
            orders,
            OrdersSettings(
                database_url=own_database_url,
                topic_arn="unused",
                payments_queue_url="unused",
                event_bus_name="unused",
                updates_queue_url=queue,
            ),
            AwsSettings(aws_endpoint_url=os.environ["AWS_ENDPOINT_URL"]),
            WorkerSettings(
                wait_seconds=1,
                retry_initial_seconds=1,
                retry_max_seconds=2,
                probe_initial_seconds=0.2,
                backoff_max_seconds=1,
            ),
        )
        outage.enter_context(database_unavailable(own_database_url))
        _send(sqs, queue, *(e.to_json() for order in order_ids for e in _replies(order)))
        runner = threading.Thread(target=worker.run, args=(stop,))
        runner.start()

        away_until = time.monotonic() + 6.0
        while time.monotonic() < away_until:
            assert _depth(sqs, dlq) == 0, "a reply went to the DLQ during the outage"
            stop.wait(0.25)
        assert worker.breaker.is_open
        outage.close()

        eventually(
            lambda: all(
                str(orders.service.get(order).state.status) == "confirmed" for order in order_ids
            ),
            "every order confirmed",
            seconds=60,
            interval=0.25,
        )
        eventually(lambda: _depth(sqs, queue) == 0, "the queue drained", seconds=30)
        assert _depth(sqs, dlq) == 0
    finally:
        outage.close()
        stop.set()
        if runner is not None:
            runner.join(timeout=30)
        orders.close()
    assert runner is not None and not runner.is_alive()
