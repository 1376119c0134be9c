"""Reading and inspecting SQS queues on LocalStack."""

from __future__ import annotations

import time
from typing import Any


def arn_of(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def drain(sqs: Any, queue_url: str) -> list[str]:
    """Bodies of the messages waiting in a queue (received and deleted)."""
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def queue_is_empty(sqs: Any, queue_url: str) -> bool:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in attributes.values())


def receive_bodies(sqs: Any, queue_url: str, count: int, timeout: float = 10) -> list[str]:
    """Receive (and delete) messages until `count` arrived; fails after `timeout` seconds."""
    bodies: list[str] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert len(bodies) >= count, f"{len(bodies)} of {count} message(s) in {timeout} s: {bodies}"
    return bodies
