"""The outbox relay against LocalStack: destinations, order, at least once, outages, concurrency.

Each test routes its own uniquely named outbox destinations to a topic, queues and a bus it
creates, so it never touches records of other tests in a shared PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from services.orders.adapters.event_store import (
    NewEvent,
    OutboxMessage,
    OutboxRecord,
    SqlEventStore,
)
from services.orders.relay import (
    BrokerUnavailable,
    BusPublisher,
    FifoPublisher,
    OutboxRelay,
    Publisher,
    PublishOutcome,
    RelaySettings,
    SnsPublisher,
    claim_in_stream_order,
    outbox_status,
    relay_client,
    stream_of,
)
from shared.envelope import Envelope
from shared.settings import AwsSettings
from shared.tests.polling import eventually
from shared.tests.queues import arn_of

pytestmark = pytest.mark.integration

FAST = RelaySettings(
    idle_interval_seconds=0.02,
    lease_seconds=30,
    backoff_initial_seconds=0.1,
    backoff_max_seconds=0.4,
    status_interval_seconds=0.2,
)


@dataclass
class Broker:
    """A topic, a FIFO queue and a bus of this test, each with a queue capturing what arrives."""

    sqs: Any
    topic_arn: str
    topic_capture: str
    fifo_url: str
    bus_name: str
    bus_capture: str
    endpoint: str

    def aws(self, endpoint: str | None = None) -> AwsSettings:
        return AwsSettings(aws_endpoint_url=endpoint or self.endpoint)

    def publishers(self, suffix: str, endpoint: str | None = None) -> dict[str, Publisher]:
        aws = self.aws(endpoint)
        return {
            f"sns-{suffix}": SnsPublisher(relay_client("sns", aws), self.topic_arn),
            f"fifo-{suffix}": FifoPublisher(relay_client("sqs", aws), self.fifo_url),
            f"bus-{suffix}": BusPublisher(relay_client("events", aws), self.bus_name),
        }

    def receive(self, url: str, count: int) -> list[dict[str, Any]]:
        """Wait until ``count`` messages arrived (deleting them), then briefly for extras."""
        received: list[dict[str, Any]] = []

        def drain(wait: int) -> None:
            response = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            for message in response.get("Messages", []):
                received.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

        eventually(lambda: drain(1) or len(received) >= count, f"{count} messages on {url}")
        drain(1)
        return received


@pytest.fixture
def broker(localstack: Any, queues: Callable[..., str], unique_name: str) -> Iterator[Broker]:
    sqs, sns, events = (
        localstack.client("sqs"),
        localstack.client("sns"),
        localstack.client("events"),
    )
    topic_arn = sns.create_topic(Name=f"{unique_name}-events")["TopicArn"]
    topic_capture = queues(f"{unique_name}-topic-capture")
    subscription = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn_of(sqs, topic_capture),
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    fifo_url = queues(
        f"{unique_name}-payments.fifo", FifoQueue="true", ContentBasedDeduplication="false"
    )
    bus_name = f"{unique_name}-bus"
    events.create_event_bus(Name=bus_name)
    bus_capture = queues(f"{unique_name}-bus-capture")
    rule = f"{unique_name}-all"
    events.put_rule(
        Name=rule, EventBusName=bus_name, EventPattern=json.dumps({"source": ["shop.orders"]})
    )
    events.put_targets(
        Rule=rule,
        EventBusName=bus_name,
        Targets=[{"Id": "capture", "Arn": arn_of(sqs, bus_capture)}],
    )
    try:
        yield Broker(
            sqs=sqs,
            topic_arn=topic_arn,
            topic_capture=topic_capture,
            fifo_url=fifo_url,
            bus_name=bus_name,
            bus_capture=bus_capture,
            endpoint=os.environ["AWS_ENDPOINT_URL"],
        )
    finally:
        events.remove_targets(Rule=rule, EventBusName=bus_name, Ids=["capture"])
        events.delete_rule(Name=rule, EventBusName=bus_name)
        events.delete_event_bus(Name=bus_name)
        sns.unsubscribe(SubscriptionArn=subscription)
        sns.delete_topic(TopicArn=topic_arn)


def _append(
    store: SqlEventStore,
    destinations: Sequence[str],
    order_id: str | None = None,
    count: int = 1,
) -> list[Envelope]:
    """Append ``count`` events to one order's stream, each with an outbox record for every
    destination (body = the envelope; group = order id)."""
    order_id = order_id or f"order-{uuid.uuid4()}"
    version = len(store.read_stream(order_id))
    envelopes = [
        Envelope(type="OrderNoted", correlation_id=order_id, payload={"n": version + n})
        for n in range(1, count + 1)
    ]
    store.append(
        order_id,
        version,
        [NewEvent(type=e.type, payload=e.payload, event_id=e.event_id) for e in envelopes],
        [
            OutboxMessage(
                destination=destination,
                body=e.model_dump(mode="json"),
                group_id=order_id,
                event_id=e.event_id,
            )
            for e in envelopes
            for destination in destinations
        ],
    )
    return envelopes


class Recording:
    """Wraps a publisher and remembers every call's records."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.calls: list[list[OutboxRecord]] = []
        self.lock = threading.Lock()

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        outcome = self.inner.publish(records)
        with self.lock:
            self.calls.append([r for r in records if r.position in outcome.sent])
        return outcome


def _suffix() -> str:
    return uuid.uuid4().hex[:10]


def test_each_destination_gets_its_message_with_attributes_group_and_dedup(
    store: SqlEventStore, broker: Broker
) -> None:
    suffix = _suffix()
    publishers = broker.publishers(suffix)
    (envelope,) = _append(store, list(publishers))

    assert OutboxRelay(store, publishers, FAST).relay_once() == 3

    (from_topic,) = broker.receive(broker.topic_capture, 1)
    assert Envelope.model_validate_json(from_topic["Body"]) == envelope
    attributes = from_topic["MessageAttributes"]
    assert attributes["type"] == {"DataType": "String", "StringValue": "OrderNoted"}
    assert attributes["version"] == {"DataType": "String", "StringValue": "1"}

    (from_fifo,) = broker.receive(broker.fifo_url, 1)
    assert Envelope.model_validate_json(from_fifo["Body"]) == envelope
    assert from_fifo["Attributes"]["MessageGroupId"] == envelope.correlation_id
    assert from_fifo["Attributes"]["MessageDeduplicationId"] == str(envelope.event_id)

    (from_bus,) = broker.receive(broker.bus_capture, 1)
    event = json.loads(from_bus["Body"])
    assert event["source"] == "shop.orders"
    assert event["detail-type"] == "OrderNoted"
    assert Envelope.model_validate(event["detail"]) == envelope

    assert outbox_status(store.engine, publishers).backlog == 0
    assert OutboxRelay(store, publishers, FAST).relay_once() == 0


def test_records_of_a_stream_are_published_in_order_one_per_call(
    store: SqlEventStore, broker: Broker
) -> None:
    suffix = _suffix()
    destination = f"sns-{suffix}"
    recording = Recording(broker.publishers(suffix)[destination])
    streams = {f"order-{uuid.uuid4()}": [] for _ in range(12)}  # type: ignore[var-annotated]
    for _ in range(3):
        for order_id in streams:
            streams[order_id] += _append(store, [destination], order_id, count=2)

    relay = OutboxRelay(store, {destination: recording}, FAST)
    assert relay.relay_once() == 72

    published: dict[str, list[str]] = {order_id: [] for order_id in streams}
    for call in recording.calls:
        in_call = [stream_of(r) for r in call]
        assert len(in_call) == len(set(in_call)), "two records of a stream in one call"
        for record in call:
            published[stream_of(record)].append(record.body["event_id"])
    for order_id, envelopes in streams.items():
        assert published[order_id] == [str(e.event_id) for e in envelopes]
    arrived = broker.receive(broker.topic_capture, 72)
    assert len(arrived) == 72


def test_a_relay_never_overtakes_a_stream_record_leased_by_another(
    store: SqlEventStore, broker: Broker
) -> None:
    suffix = _suffix()
    destination = f"sns-{suffix}"
    publishers = {destination: broker.publishers(suffix)[destination]}
    held_order = f"order-{uuid.uuid4()}"
    first = _append(store, [destination], held_order)
    other = _append(store, [destination])
    # Another relay holds the first record of the stream (claimed, not yet published).
    (held,) = claim_in_stream_order(store.engine, [destination], 1, timedelta(seconds=30))[
        destination
    ]
    assert held.body["event_id"] == str(first[0].event_id)
    later = _append(store, [destination], held_order)

    assert OutboxRelay(store, publishers, FAST).relay_once() == 1
    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(other[0].event_id)
    assert outbox_status(store.engine, [destination]).backlog == 2

    store.mark_sent([held.position])
    assert OutboxRelay(store, publishers, FAST).relay_once() == 1
    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(later[0].event_id)


class Refusing:
    """Refuses the records of one stream while ``refuse`` is set."""

    def __init__(self, inner: Publisher, stream: str) -> None:
        self.inner = inner
        self.stream = stream
        self.refuse = True

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        refused = {r.position for r in records if self.refuse and stream_of(r) == self.stream}
        outcome = self.inner.publish([r for r in records if r.position not in refused])
        return PublishOutcome(
            sent=outcome.sent,
            failed={**outcome.failed, **{p: "Refused: test" for p in refused}},
        )


def test_a_refused_record_is_retried_later_and_holds_back_its_stream(
    store: SqlEventStore, broker: Broker
) -> None:
    suffix = _suffix()
    destination = f"sns-{suffix}"
    order_id = f"order-{uuid.uuid4()}"
    refusing = Refusing(broker.publishers(suffix)[destination], order_id)
    relay = OutboxRelay(store, {destination: refusing}, FAST)
    stuck = _append(store, [destination], order_id, count=3)
    free = _append(store, [destination])

    assert relay.relay_once() == 1
    assert [json.loads(m["Body"])["event_id"] for m in broker.receive(broker.topic_capture, 1)] == [
        str(free[0].event_id)
    ]
    assert relay.relay_once() == 0  # the refused record waits out its backoff

    refusing.refuse = False
    eventually(lambda: relay.relay_once() == 3, "the held stream is published after the backoff")
    arrived = broker.receive(broker.topic_capture, 3)
    assert [json.loads(m["Body"])["event_id"] for m in arrived] == [str(e.event_id) for e in stuck]


class CrashAfterPublishing:
    """Publishes, then dies before the relay can mark anything sent."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        self.inner.publish(records)
        raise RuntimeError("relay died between publish and mark-sent")


def test_a_crash_between_publish_and_mark_sent_publishes_the_record_again(
    store: SqlEventStore, broker: Broker
) -> None:
    suffix = _suffix()
    destination = f"sns-{suffix}"
    publisher = broker.publishers(suffix)[destination]
    (envelope,) = _append(store, [destination])

    with pytest.raises(RuntimeError, match="between publish and mark-sent"):
        OutboxRelay(store, {destination: CrashAfterPublishing(publisher)}, FAST).relay_once()
    assert outbox_status(store.engine, [destination]).backlog == 1

    assert OutboxRelay(store, {destination: publisher}, FAST).relay_once() == 1
    arrived = broker.receive(broker.topic_capture, 2)
    assert [json.loads(m["Body"])["event_id"] for m in arrived] == [str(envelope.event_id)] * 2
    assert outbox_status(store.engine, [destination]).backlog == 0


def test_a_lease_left_by_a_dead_relay_expires_and_the_record_is_published(
    store: SqlEventStore, broker: Broker
) -> None:
    suffix = _suffix()
    destination = f"sns-{suffix}"
    (envelope,) = _append(store, [destination])
    # A relay claimed it and died without releasing anything (killed, not an exception).
    claim_in_stream_order(store.engine, [destination], 10, timedelta(seconds=1))
    relay = OutboxRelay(store, {destination: broker.publishers(suffix)[destination]}, FAST)
    assert relay.relay_once() == 0

    eventually(lambda: relay.relay_once() == 1, "the record once its lease ran out")
    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(envelope.event_id)


class Gateway:
    """A TCP forwarder on a fixed port that starts closed (the endpoint is unreachable) and
    forwards to LocalStack once opened."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server: socket.socket | None = None
        self.threads: list[threading.Thread] = []

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(32)
        self.server = server
        self._spawn(self._accept)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._spawn(self._pipe, client, upstream)
            self._spawn(self._pipe, upstream, client)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def test_a_relay_backs_off_while_the_endpoint_is_unreachable_and_loses_nothing(
    store: SqlEventStore, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = Gateway(int(broker.endpoint.rsplit(":", 1)[1].rstrip("/")))
    suffix = _suffix()
    publishers = broker.publishers(suffix, endpoint=f"http://127.0.0.1:{gateway.port}")
    envelopes = [e for _ in range(5) for e in _append(store, list(publishers), count=2)]
    relay = OutboxRelay(store, publishers, FAST)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    caplog.set_level(logging.INFO, logger="orders.relay")
    try:
        began = time.monotonic()
        runner.start()
        # The outage: nothing listens on the gateway's port.
        eventually(
            lambda: len([r for r in caplog.records if "cannot publish" in r.getMessage()]) >= 5,
            "five failed passes",
        )
        # Waited 0.1 + 0.2 + 0.4 + 0.4 (capped) between them: backing off, not a busy loop.
        assert time.monotonic() - began >= 1.1
        assert outbox_status(store.engine, publishers).backlog == 30

        gateway.open()
        eventually(
            lambda: outbox_status(store.engine, publishers).backlog == 0, "the backlog drained"
        )
    finally:
        stop.set()
        runner.join(timeout=10)
        gateway.close()
    assert not runner.is_alive()
    expected = sorted(str(e.event_id) for e in envelopes)
    for url in (broker.topic_capture, broker.fifo_url):
        arrived = broker.receive(url, 10)
        assert sorted(json.loads(m["Body"])["event_id"] for m in arrived) == expected
    from_bus = broker.receive(broker.bus_capture, 10)
    assert sorted(json.loads(m["Body"])["detail"]["event_id"] for m in from_bus) == expected
    assert any("publishing again" in r.getMessage() for r in caplog.records)


def test_two_relays_at_once_publish_every_record_once_and_in_order(
    store: SqlEventStore, broker: Broker
) -> None:
    suffix = _suffix()
    destination = f"fifo-{suffix}"
    shared = broker.publishers(suffix)[destination]
    streams: dict[str, list[Envelope]] = {f"order-{uuid.uuid4()}": [] for _ in range(25)}
    for _ in range(4):
        for order_id in streams:
            streams[order_id] += _append(store, [destination], order_id)
    recordings = [Recording(shared), Recording(shared)]
    relays = [
        OutboxRelay(
            store, {destination: r}, RelaySettings(claim_size=7, idle_interval_seconds=0.01)
        )
        for r in recordings
    ]
    stop = threading.Event()
    runners = [threading.Thread(target=relay.run, args=(stop,)) for relay in relays]
    for runner in runners:
        runner.start()
    try:
        eventually(
            lambda: outbox_status(store.engine, [destination]).backlog == 0, "the backlog drained"
        )
    finally:
        stop.set()
        for runner in runners:
            runner.join(timeout=10)

    published = [r for recording in recordings for call in recording.calls for r in call]
    assert len(published) == 100
    assert len({r.position for r in published}) == 100
    assert all(recording.calls for recording in recordings), "both relays took part"
    # In order per stream: the FIFO queue delivers a group in the order it was sent.
    arrived = broker.receive(broker.fifo_url, 100)
    assert len(arrived) == 100
    by_stream: dict[str, list[str]] = {}
    for message in arrived:
        body = json.loads(message["Body"])
        by_stream.setdefault(body["correlation_id"], []).append(body["event_id"])
    for order_id, envelopes in streams.items():
        assert by_stream[order_id] == [str(e.event_id) for e in envelopes]


def test_backlog_and_lag_are_reported_and_logged(
    store: SqlEventStore, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    suffix = _suffix()
    publishers = broker.publishers(suffix)
    sns, fifo = f"sns-{suffix}", f"fifo-{suffix}"
    _append(store, [sns], count=3)
    _append(store, [fifo])

    status = eventually(
        lambda: (s := outbox_status(store.engine, publishers)).lag_seconds >= 0.3 and s,
        "the oldest record aged",
    )
    assert status.destinations[sns].backlog == 3
    assert status.destinations[fifo].backlog == 1
    assert status.destinations[f"bus-{suffix}"].backlog == 0
    assert status.backlog == 4
    assert 0.3 <= status.lag_seconds < 30
    assert f"{sns}=3" in status.describe()

    relay = OutboxRelay(store, publishers, FAST)
    caplog.set_level(logging.INFO, logger="orders.relay")
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    runner.start()
    try:
        eventually(lambda: relay.status().backlog == 0, "the backlog drained")
        eventually(
            lambda: any("outbox backlog 0, lag 0.0s" in r.getMessage() for r in caplog.records),
            "the relay logged an empty backlog",
        )
    finally:
        stop.set()
        runner.join(timeout=10)
    assert relay.status().lag_seconds == 0.0


def test_a_call_that_fails_as_a_whole_is_a_broker_outage(store: SqlEventStore) -> None:
    publisher = SnsPublisher(
        relay_client("sns", AwsSettings(aws_endpoint_url="http://127.0.0.1:9")), "arn:x"
    )
    destination = f"sns-{_suffix()}"
    _append(store, [destination])
    with pytest.raises(BrokerUnavailable):
        OutboxRelay(store, {destination: publisher}, FAST).relay_once()
    assert outbox_status(store.engine, [destination]).backlog == 1
    # released at once, not left leased: the next pass claims it again
    assert claim_in_stream_order(store.engine, [destination], 10, timedelta(seconds=1))[destination]
