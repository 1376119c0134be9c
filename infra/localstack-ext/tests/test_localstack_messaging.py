"""The host LocalStack carries the messaging the topology relies on (SNS fan-out, DLQs, FIFO)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.envelope import Envelope, parse_envelope

pytestmark = pytest.mark.integration


def receive_all(sqs: Any, queue_url: str, expected: int, deadline_s: float = 15) -> list[Any]:
    messages: list[Any] = []
    deadline = time.monotonic() + deadline_s
    while len(messages) < expected and time.monotonic() < deadline:
        reply = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages.extend(reply.get("Messages", []))
    return messages


@pytest.fixture
def topics(localstack: Any) -> Iterator[Callable[[str], str]]:
    """Create SNS topics that are deleted after the test."""
    sns = localstack.client("sns")
    created: list[str] = []

    def create(name: str) -> str:
        arn: str = sns.create_topic(Name=name)["TopicArn"]
        created.append(arn)
        return arn

    yield create
    for arn in created:
        sns.delete_topic(TopicArn=arn)


def queue_arn(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def test_fan_out_delivers_raw_envelopes_by_filter_policy(
    localstack: Any,
    queues: Callable[..., str],
    topics: Callable[[str], str],
    unique_name: str,
) -> None:
    sqs, sns = localstack.client("sqs"), localstack.client("sns")
    topic = topics(f"{unique_name}-events")
    placed_only = queues(f"{unique_name}-inventory")
    everything = queues(f"{unique_name}-analytics")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, placed_only),
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"type": ["OrderPlaced"]}),
        },
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, everything),
        Attributes={"RawMessageDelivery": "true"},
    )
    placed = Envelope(type="OrderPlaced", correlation_id=unique_name)
    confirmed = placed.caused("OrderConfirmed", {})
    for event in (placed, confirmed):
        sns.publish(
            TopicArn=topic,
            Message=event.to_json(),
            MessageAttributes={"type": {"DataType": "String", "StringValue": event.type}},
        )

    assert [parse_envelope(m["Body"]) for m in receive_all(sqs, placed_only, 1)] == [placed]
    received = {parse_envelope(m["Body"]).type for m in receive_all(sqs, everything, 2)}
    assert received == {"OrderPlaced", "OrderConfirmed"}


def test_poison_message_moves_to_dead_letter_queue_after_max_receives(
    localstack: Any, queues: Callable[..., str], unique_name: str
) -> None:
    sqs = localstack.client("sqs")
    dlq = queues(f"{unique_name}-dlq")
    queue = queues(
        unique_name,
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": "2"}
        ),
    )
    sqs.send_message(QueueUrl=queue, MessageBody="{not json")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, VisibilityTimeout=0)
        dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", [])
        if dead:
            assert dead[0]["Body"] == "{not json"
            return
    pytest.fail("the poison message never reached the dead-letter queue")


def test_fifo_queue_keeps_order_per_group_and_drops_duplicates(
    localstack: Any, queues: Callable[..., str], unique_name: str
) -> None:
    sqs = localstack.client("sqs")
    queue = queues(f"{unique_name}.fifo", FifoQueue="true")
    commands = ["AuthorizePayment", "CapturePayment"]
    for command in [*commands, commands[0]]:
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=command,
            MessageGroupId=unique_name,
            MessageDeduplicationId=f"{unique_name}-{command}",
        )
    received = receive_all(sqs, queue, 2, deadline_s=3)
    assert [m["Body"] for m in received] == commands
    for message in received:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []) == []
