"""Operating a deployed stack: queue depths, redrive of the dead-letter queues, replay of the
bus archive (the `dlq`, `redrive` and `replay` commands of `infra.cloudformation.deploy`)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

from infra.cloudformation.target import DeployError, Target, stack_outputs
from infra.cloudformation.topology.blocks import pascal
from infra.cloudformation.topology.consumers import CONSUMERS

# The queues `redrive --queue` knows: (DLQ output, the output of the queue its messages move to,
# or None for the DLQ of EventBridge targets (and the fraud function), whose events go back on
# the bus). A consumer's DLQ also holds what its SNS subscription could not deliver.
DEAD_LETTER_QUEUES: dict[str, tuple[str, str | None]] = {
    **{
        consumer.service: (
            f"{pascal(consumer.service)}DlqUrl",
            f"{pascal(consumer.service)}QueueUrl",
        )
        for consumer in CONSUMERS
    },
    "order-updates": ("OrderUpdatesDlqUrl", "OrderUpdatesQueueUrl"),
    "order-updates-delivery": ("OrderUpdatesDeliveryDlqUrl", None),
    "fraud": ("FraudDlqUrl", None),
    "ops-alerts-delivery": ("OpsAlertsDeliveryDlqUrl", "AlarmsQueueUrl"),
}
# DLQs that no queue's redrive policy names (only a subscription's), which SQS will not move
# from: their messages are copied to the destination, each deleted once sent.
COPIED_DEAD_LETTER_QUEUES = frozenset({"ops-alerts-delivery"})


def queue_depths(target: Target) -> list[tuple[str, int, int]]:
    """(queue name, visible, in flight) of every queue, each followed by its dead-letter queue."""
    outputs = stack_outputs(target)
    sqs = target.client("sqs")
    rows = []
    for dlq_output, source_output in DEAD_LETTER_QUEUES.values():
        for output in (source_output, dlq_output):
            if output is None:
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=outputs[output],
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            rows.append(
                (
                    outputs[output].rsplit("/", 1)[-1],
                    int(attributes["ApproximateNumberOfMessages"]),
                    int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                )
            )
    return rows


def redrive(target: Target, queue: str) -> str:
    """Move every message of `queue`'s dead-letter queue back to where it came from."""
    if queue not in DEAD_LETTER_QUEUES:
        known = ", ".join(DEAD_LETTER_QUEUES)
        raise DeployError(f"no dead-letter queue for {queue!r}; choose one of {known}")
    dlq_output, source_output = DEAD_LETTER_QUEUES[queue]
    outputs = stack_outputs(target)
    if source_output is None:
        return redrive_to_bus(target, outputs[dlq_output], outputs["EventBusName"])
    sqs = target.client("sqs")
    if queue in COPIED_DEAD_LETTER_QUEUES:
        moved = copy_messages(sqs, outputs[dlq_output], outputs[source_output])
        return f"redrive of {queue}: {moved} message(s) copied and deleted"

    def arn_of(output: str) -> str:
        attributes = sqs.get_queue_attributes(QueueUrl=outputs[output], AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    dlq_arn = arn_of(dlq_output)
    # Named, not left to SQS: what SNS could not deliver came from no queue SQS could return it to.
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(source_output))
    while True:
        # the most recent task of this source comes first
        task = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"][0]
        if task["Status"] != "RUNNING":
            moved = task.get("ApproximateNumberOfMessagesMoved", 0)
            reason = f": {task['FailureReason']}" if task.get("FailureReason") else ""
            return f"redrive of {queue}: {task['Status']}, {moved} message(s) moved{reason}"
        time.sleep(target.poll_seconds)


def copy_messages(sqs: Any, from_url: str, to_url: str) -> int:
    """Send every message of `from_url` to `to_url` (body and attributes), deleting each once
    sent; a crash in between leaves a copy in both (readers of notifications take duplicates)."""
    copied = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=from_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not messages:
            return copied
        for message in messages:
            attributes = message.get("MessageAttributes")
            sqs.send_message(
                QueueUrl=to_url,
                MessageBody=message["Body"],
                **({"MessageAttributes": attributes} if attributes else {}),
            )
            sqs.delete_message(QueueUrl=from_url, ReceiptHandle=message["ReceiptHandle"])
            copied += 1


def redrive_to_bus(target: Target, dlq_url: str, bus_name: str) -> str:
    """Put the events of an EventBridge-target DLQ back on the bus, deleting each once sent."""
    sqs, events = target.client("sqs"), target.client("events")
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        if not messages:
            return f"{moved} event(s) put back on bus {bus_name}"
        for message in messages:
            event = json.loads(message["Body"])
            events.put_events(
                Entries=[
                    {
                        "EventBusName": bus_name,
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                    }
                ]
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def replay(target: Target, start: datetime, end: datetime) -> str:
    """Replay the archive's events of [start, end) onto the bus; waits for the replay to end."""
    if end <= start:
        raise DeployError(
            f"replay window is empty: --end {end.isoformat()} <= --start {start.isoformat()}"
        )
    outputs = stack_outputs(target)
    # No retries: a retried StartReplay would only answer that the replay already exists.
    events = target.client("events", retries=0)
    archive = events.describe_archive(ArchiveName=outputs["ArchiveName"])
    name = f"{target.stack_name}-replay-{uuid.uuid4().hex[:8]}"[-64:]
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": outputs["EventBusArn"]},
    )
    while True:
        state = events.describe_replay(ReplayName=name)
        if state["State"] in ("COMPLETED", "FAILED", "CANCELLED"):
            if state["State"] != "COMPLETED":
                raise DeployError(f"replay {name} {state['State']}: {state.get('StateReason', '')}")
            return f"replay {name} completed"
        time.sleep(target.poll_seconds)
