"""Queue depths, DLQ pairing, alarm states and redrive against LocalStack."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.orders.adapters.queue_operations import (
    NotRedrivable,
    QueueOperations,
    QueuePair,
    UnknownQueue,
)
from services.orders.settings import OperationsSettings
from shared.tests.polling import eventually
from shared.tests.queues import arn_of

pytestmark = pytest.mark.integration


def dead_letter_of(ops: QueueOperations, dlq_name: str) -> QueuePair:
    return next(p for p in ops.queues() if p.dead_letter and p.dead_letter.name == dlq_name)


def depths_of(ops: QueueOperations, dlq_name: str) -> tuple[int, int]:
    """Messages waiting in the dead-letter queue ``dlq_name`` and in its source queue."""
    pair = dead_letter_of(ops, dlq_name)
    assert pair.dead_letter is not None and pair.queue is not None
    return pair.dead_letter.messages, pair.queue.messages


@pytest.fixture
def stack(localstack: Any, queues: Callable[..., str], unique_name: str) -> dict[str, Any]:
    """A stack-like set of queues: inventory with its DLQ, a FIFO pair, an orphan rule DLQ."""
    sqs = localstack.client("sqs")
    dlq = queues(f"{unique_name}-inventory-dlq")
    source = queues(
        f"{unique_name}-inventory",
        VisibilityTimeout="30",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1}),
    )
    fifo_dlq = queues(f"{unique_name}-payments-dlq.fifo", FifoQueue="true")
    queues(
        f"{unique_name}-payments.fifo",
        FifoQueue="true",
        RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": arn_of(sqs, fifo_dlq), "maxReceiveCount": 3}
        ),
    )
    queues(f"{unique_name}-fraud-dlq")
    ops = QueueOperations(
        sqs, localstack.client("cloudwatch"), OperationsSettings(stack_name=unique_name)
    )
    return {"sqs": sqs, "ops": ops, "prefix": unique_name, "source": source, "dlq": dlq}


def poison(sqs: Any, source_url: str) -> None:
    """Send a message and fail it past maxReceiveCount so SQS moves it to the DLQ."""
    sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"poison": True}))
    received = eventually(
        lambda: sqs.receive_message(QueueUrl=source_url, WaitTimeSeconds=1).get("Messages"),
        "the poison message is received",
    )
    sqs.change_message_visibility(
        QueueUrl=source_url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    sqs.receive_message(QueueUrl=source_url, WaitTimeSeconds=1)


def test_pairs_every_queue_with_its_dead_letter_queue(stack: dict[str, Any]) -> None:
    prefix = stack["prefix"]
    pairs = stack["ops"].queues()

    named = [
        (p.queue.name if p.queue else None, p.dead_letter.name if p.dead_letter else None)
        for p in pairs
    ]
    assert named == [
        (None, f"{prefix}-fraud-dlq"),
        (f"{prefix}-inventory", f"{prefix}-inventory-dlq"),
        (f"{prefix}-payments.fifo", f"{prefix}-payments-dlq.fifo"),
    ]
    assert [p.redrivable for p in pairs] == [False, True, True]
    assert all(side.messages == 0 for p in pairs for side in (p.queue, p.dead_letter) if side)


def test_other_stacks_queues_are_not_listed(
    stack: dict[str, Any], queues: Callable[..., str]
) -> None:
    queues(f"{stack['prefix']}2-inventory")

    names = {side.name for p in stack["ops"].queues() for side in (p.queue, p.dead_letter) if side}

    assert all(name.startswith(f"{stack['prefix']}-") for name in names)


def test_reads_depths_and_redrives_a_dead_letter_back_to_its_source(
    stack: dict[str, Any],
) -> None:
    sqs, ops, prefix = stack["sqs"], stack["ops"], stack["prefix"]
    poison(sqs, stack["source"])
    eventually(lambda: depths_of(ops, f"{prefix}-inventory-dlq")[0] == 1, "the DLQ depth reads 1")

    started = ops.redrive(f"{prefix}-inventory-dlq")

    assert (started.dead_letter, started.destination) == (
        f"{prefix}-inventory-dlq",
        f"{prefix}-inventory",
    )
    eventually(
        lambda: depths_of(ops, f"{prefix}-inventory-dlq") == (0, 1),
        "the message is back in the source queue",
    )
    pair = dead_letter_of(ops, f"{prefix}-inventory-dlq")
    assert pair.dead_letter is not None
    assert pair.dead_letter.last_redrive is not None
    assert pair.dead_letter.last_redrive.status in {"RUNNING", "COMPLETED"}
    body = sqs.receive_message(QueueUrl=stack["source"], WaitTimeSeconds=1)["Messages"][0]["Body"]
    assert json.loads(body) == {"poison": True}


def test_redrives_a_fifo_dead_letter_queue(stack: dict[str, Any]) -> None:
    sqs, ops, prefix = stack["sqs"], stack["ops"], stack["prefix"]
    dead_letter = f"{prefix}-payments-dlq.fifo"
    dlq_url = sqs.get_queue_url(QueueName=dead_letter)["QueueUrl"]
    sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody="command",
        MessageGroupId="order-1",
        MessageDeduplicationId="1",
    )

    ops.redrive(dead_letter)

    eventually(
        lambda: depths_of(ops, dead_letter) == (0, 1),
        "the FIFO dead letter is back in payments.fifo",
    )


def test_redrive_of_an_unknown_queue_is_refused(stack: dict[str, Any]) -> None:
    with pytest.raises(UnknownQueue):
        stack["ops"].redrive(f"{stack['prefix']}-nope-dlq")


def test_redrive_of_a_source_queue_or_an_orphan_dlq_is_refused(stack: dict[str, Any]) -> None:
    with pytest.raises(NotRedrivable, match="not a dead-letter queue"):
        stack["ops"].redrive(f"{stack['prefix']}-inventory")
    with pytest.raises(NotRedrivable, match="no source queue"):
        stack["ops"].redrive(f"{stack['prefix']}-fraud-dlq")


def test_lists_the_stacks_alarms_with_their_states(stack: dict[str, Any], localstack: Any) -> None:
    cloudwatch, prefix = localstack.client("cloudwatch"), stack["prefix"]
    names = [f"{prefix}-InventoryDeadLetterQueue-not-empty", f"{prefix}-Other-not-empty"]
    for name in names:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription="Messages wait in the DLQ",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": f"{prefix}-inventory-dlq"}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    try:
        cloudwatch.set_alarm_state(AlarmName=names[0], StateValue="ALARM", StateReason="test")

        alarms = {alarm.name: alarm for alarm in stack["ops"].alarms()}

        assert set(alarms) == set(names)
        assert alarms[names[0]].state == "ALARM"
        assert alarms[names[0]].reason == "test"
        assert alarms[names[0]].queue_name == f"{prefix}-inventory-dlq"
        assert alarms[names[1]].state in {"OK", "INSUFFICIENT_DATA"}
    finally:
        cloudwatch.delete_alarms(AlarmNames=names)


@pytest.fixture
def alarm_to_alarms_queue(
    stack: dict[str, Any], localstack: Any, queues: Callable[..., str]
) -> Iterator[tuple[str, str]]:
    """The stack's alarms queue subscribed (raw) to a topic that an alarm notifies; yields the
    alarm's name and the queue's URL."""
    sns, cloudwatch, prefix = (
        localstack.client("sns"),
        localstack.client("cloudwatch"),
        stack["prefix"],
    )
    alarms_url = queues(f"{prefix}-alarms")
    topic = sns.create_topic(Name=f"{prefix}-ops-alerts")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn_of(stack["sqs"], alarms_url),
        Attributes={"RawMessageDelivery": "true"},
    )
    name = f"{prefix}-InventoryDeadLetterQueue-not-empty"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": f"{prefix}-inventory-dlq"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
        OKActions=[topic],
    )
    yield name, alarms_url
    cloudwatch.delete_alarms(AlarmNames=[name])
    sns.delete_topic(TopicArn=topic)


def test_recent_alarm_notifications_are_read_newest_first_without_consuming_them(
    stack: dict[str, Any], localstack: Any, alarm_to_alarms_queue: tuple[str, str]
) -> None:
    """More notifications than one receive returns (10), each a real CloudWatch state change
    through the topic; two readers see them all, and they stay on the queue."""
    name, alarms_url = alarm_to_alarms_queue
    cloudwatch, sqs = localstack.client("cloudwatch"), stack["sqs"]
    states = ["ALARM", "OK"] * 6
    for number, state in enumerate(states):
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"change {number}")

    def depth() -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=alarms_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    eventually(lambda: depth() == len(states), f"{len(states)} notifications arrive")
    notifications = stack["ops"].recent_alarm_notifications(100)

    assert [n.reason for n in notifications] == [f"change {n}" for n in reversed(range(12))]
    assert {n.name for n in notifications} == {name}
    assert [(n.state, n.previous_state) for n in notifications[:2]] == [
        ("OK", "ALARM"),
        ("ALARM", "OK"),
    ]
    other_reader = QueueOperations(sqs, cloudwatch, OperationsSettings(stack_name=stack["prefix"]))
    assert other_reader.recent_alarm_notifications(3) == notifications[:3]
    visible = sqs.get_queue_attributes(
        QueueUrl=alarms_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert visible == str(len(states))


def test_a_stack_without_an_alarms_queue_has_no_recent_notifications(
    stack: dict[str, Any],
) -> None:
    assert stack["ops"].recent_alarm_notifications(10) == []
