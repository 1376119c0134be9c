"""The outbox relay against LocalStack: destinations, order, at least once, refusals."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.orders.adapters.aws_clients import relay_client
from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.metrics import (
    METRICS_NAMESPACE,
    OUTBOX_RECORDS_PARKED,
    SERVICE_DIMENSION,
    OutboxMetrics,
)
from services.orders.adapters.outbox import SqlOutbox
from services.orders.adapters.publishers import SnsPublisher
from services.orders.ports import (
    BrokerUnavailable,
    NewEvent,
    OutboxMessage,
    OutboxRecord,
    Publisher,
    PublishOutcome,
)
from services.orders.relay import OutboxRelay
from services.orders.tests.integration.relay.broker import (
    FAST,
    Broker,
    Recording,
    append_records,
    unique_suffix,
)
from shared.envelope import Envelope
from shared.settings import AwsSettings
from shared.tests.polling import eventually

pytestmark = pytest.mark.integration


def test_each_destination_gets_its_message_with_attributes_group_and_dedup(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    suffix = unique_suffix()
    publishers = broker.publishers(suffix)
    (envelope,) = append_records(store, list(publishers))

    assert OutboxRelay(outbox, publishers, FAST).relay_once() == 3

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

    assert outbox.status(publishers).backlog == 0
    assert OutboxRelay(outbox, publishers, FAST).relay_once() == 0


def test_records_of_a_stream_are_published_in_order_one_per_call(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    suffix = unique_suffix()
    destination = f"sns-{suffix}"
    recording = Recording(broker.publishers(suffix)[destination])
    streams = {f"order-{uuid.uuid4()}": [] for _ in range(12)}  # type: ignore[var-annotated]
    for _ in range(3):
        for order_id in streams:
            streams[order_id] += append_records(store, [destination], order_id, count=2)

    relay = OutboxRelay(outbox, {destination: recording}, FAST)
    assert relay.relay_once() == 72

    published: dict[str, list[str]] = {order_id: [] for order_id in streams}
    for call in recording.calls:
        in_call = [r.stream for r in call]
        assert len(in_call) == len(set(in_call)), "two records of a stream in one call"
        for record in call:
            published[record.stream].append(record.body["event_id"])
    for order_id, envelopes in streams.items():
        assert published[order_id] == [str(e.event_id) for e in envelopes]
    arrived = broker.receive(broker.topic_capture, 72)
    assert len(arrived) == 72


def test_a_relay_never_overtakes_a_stream_record_leased_by_another(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    suffix = unique_suffix()
    destination = f"sns-{suffix}"
    publishers = {destination: broker.publishers(suffix)[destination]}
    held_order = f"order-{uuid.uuid4()}"
    first = append_records(store, [destination], held_order)
    other = append_records(store, [destination])
    # Another relay holds the first record of the stream (claimed, not yet published).
    (held,) = outbox.claim([destination], 1, timedelta(seconds=30))[destination]
    assert held.body["event_id"] == str(first[0].event_id)
    later = append_records(store, [destination], held_order)

    assert OutboxRelay(outbox, publishers, FAST).relay_once() == 1
    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(other[0].event_id)
    assert outbox.status([destination]).backlog == 2

    outbox.mark_sent([held.position])
    assert OutboxRelay(outbox, publishers, FAST).relay_once() == 1
    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(later[0].event_id)


class Refusing:
    """Refuses the records of one stream while ``refuse`` is set."""

    def __init__(self, inner: Publisher, stream: str) -> None:
        self.inner = inner
        self.stream = stream
        self.refuse = True

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        refused = {r.position for r in records if self.refuse and r.stream == self.stream}
        outcome = self.inner.publish([r for r in records if r.position not in refused])
        return PublishOutcome(
            sent=outcome.sent,
            failed={**outcome.failed, **{p: "Refused: test" for p in refused}},
        )


def test_a_refused_record_is_retried_later_and_holds_back_its_stream(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    suffix = unique_suffix()
    destination = f"sns-{suffix}"
    order_id = f"order-{uuid.uuid4()}"
    refusing = Refusing(broker.publishers(suffix)[destination], order_id)
    relay = OutboxRelay(outbox, {destination: refusing}, FAST)
    stuck = append_records(store, [destination], order_id, count=3)
    free = append_records(store, [destination])

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
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    suffix = unique_suffix()
    destination = f"sns-{suffix}"
    publisher = broker.publishers(suffix)[destination]
    (envelope,) = append_records(store, [destination])

    with pytest.raises(RuntimeError, match="between publish and mark-sent"):
        OutboxRelay(outbox, {destination: CrashAfterPublishing(publisher)}, FAST).relay_once()
    assert outbox.status([destination]).backlog == 1

    assert OutboxRelay(outbox, {destination: publisher}, FAST).relay_once() == 1
    arrived = broker.receive(broker.topic_capture, 2)
    assert [json.loads(m["Body"])["event_id"] for m in arrived] == [str(envelope.event_id)] * 2
    assert outbox.status([destination]).backlog == 0


def test_a_lease_left_by_a_dead_relay_expires_and_the_record_is_published(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    suffix = unique_suffix()
    destination = f"sns-{suffix}"
    (envelope,) = append_records(store, [destination])
    # A relay claimed it and died without releasing anything (killed, not an exception).
    outbox.claim([destination], 10, timedelta(seconds=1))
    relay = OutboxRelay(outbox, {destination: broker.publishers(suffix)[destination]}, FAST)
    assert relay.relay_once() == 0

    eventually(lambda: relay.relay_once() == 1, "the record once its lease ran out")
    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(envelope.event_id)


def test_a_call_that_fails_as_a_whole_is_a_broker_outage(
    store: SqlEventStore, outbox: SqlOutbox
) -> None:
    publisher = SnsPublisher(
        relay_client("sns", AwsSettings(aws_endpoint_url="http://127.0.0.1:9")), "arn:x"
    )
    destination = f"sns-{unique_suffix()}"
    append_records(store, [destination])
    with pytest.raises(BrokerUnavailable):
        OutboxRelay(outbox, {destination: publisher}, FAST).relay_once()
    assert outbox.status([destination]).backlog == 1
    # released at once, not left leased: the next pass claims it again
    assert outbox.claim([destination], 10, timedelta(seconds=1))[destination]


def _parked_counted(cloudwatch: Any, since: datetime) -> float:
    statistics = cloudwatch.get_metric_statistics(
        Namespace=METRICS_NAMESPACE,
        MetricName=OUTBOX_RECORDS_PARKED,
        Dimensions=[SERVICE_DIMENSION],
        StartTime=since,
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in statistics["Datapoints"]))


def test_a_record_no_broker_takes_is_parked_and_its_order_waits_until_it_is_discarded(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker, localstack: Any
) -> None:
    suffix = unique_suffix()
    destination = f"sns-{suffix}"
    publishers = {destination: broker.publishers(suffix)[destination]}
    order_id = f"order-{uuid.uuid4()}"
    too_large = Envelope(type="OrderNoted", correlation_id=order_id, payload={}).model_dump(
        mode="json"
    )
    too_large["payload"] = {"blob": "x" * 300_000}
    store.append(
        order_id,
        0,
        [NewEvent(type="OrderNoted", payload={})],
        [OutboxMessage(destination, too_large, order_id)],
    )
    later = append_records(store, [destination], order_id)
    other = append_records(store, [destination])
    cloudwatch = localstack.client("cloudwatch")
    since = datetime.now(UTC) - timedelta(minutes=30)
    counted_before = _parked_counted(cloudwatch, since)
    relay = OutboxRelay(
        outbox,
        publishers,
        FAST.model_copy(update={"park_after_attempts": 1}),
        metrics=OutboxMetrics(cloudwatch),
    )

    assert relay.relay_once() == 1

    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(other[0].event_id)
    eventually(
        lambda: _parked_counted(cloudwatch, since) >= counted_before + 1,
        "OutboxRecordsParked counted in CloudWatch",
        30,
    )
    [parked] = [r for r in outbox.parked(1000) if r.destination == destination]
    assert parked.stream == order_id
    assert "exceeds 262144 bytes" in (parked.park_reason or "")
    assert outbox.status([destination]).destinations[destination].parked == 1
    assert relay.relay_once() == 0  # its order's later record waits behind it

    assert outbox.discard_parked(parked.position) is not None
    assert relay.relay_once() == 1
    (arrived,) = broker.receive(broker.topic_capture, 1)
    assert json.loads(arrived["Body"])["event_id"] == str(later[0].event_id)
    assert outbox.status([destination]).backlog == 0


def test_a_batch_the_broker_refuses_as_a_whole_is_sent_again_one_record_per_call(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    """SNS refuses a batch over 256 KiB in all (``BatchRequestTooLong``, a permanent error),
    though each of its records fits."""
    suffix = unique_suffix()
    destination = f"sns-{suffix}"
    publishers = {destination: broker.publishers(suffix)[destination]}
    envelopes = [
        Envelope(type="OrderNoted", correlation_id=f"order-{uuid.uuid4()}", payload={"blob": blob})
        for blob in ("x" * 150_000, "y" * 150_000)
    ]
    for envelope in envelopes:
        store.append(
            envelope.correlation_id,
            0,
            [NewEvent(type=envelope.type, payload={}, event_id=envelope.event_id)],
            [OutboxMessage(destination, envelope.model_dump(mode="json"), None, envelope.event_id)],
        )
    recording = Recording(publishers[destination])

    assert OutboxRelay(outbox, {destination: recording}, FAST).relay_once() == 2

    assert [len(call) for call in recording.calls] == [2]
    arrived = broker.receive(broker.topic_capture, 2)
    assert sorted(json.loads(m["Body"])["event_id"] for m in arrived) == sorted(
        str(e.event_id) for e in envelopes
    )
