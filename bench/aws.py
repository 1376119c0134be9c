"""Clients aimed at a LocalStack endpoint with its test credentials, and a polling wait."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from shared import aws
from shared.settings import AwsSettings

REGION = "us-east-1"


def emulator_client(service: str, endpoint: str) -> Any:
    """A client for ``endpoint`` from the repository's one factory (credentials from the
    environment, ``test`` for LocalStack), its pool wide enough for the bench's threads."""
    settings = AwsSettings(aws_endpoint_url=endpoint, aws_region=REGION, aws_max_attempts=3)
    return aws.client(service, settings, max_pool_connections=32)


def queue_arn(sqs: Any, queue_url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return arn


def subscribe_raw(sns: Any, sqs: Any, topic_arn: str, queue_url: str) -> None:
    """Subscribe a queue to a topic with raw delivery (the message body is what was published)."""
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, queue_url),
        Attributes={"RawMessageDelivery": "true"},
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> None:
    """Poll ``condition`` until it holds; ``TimeoutError`` naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise TimeoutError(f"{what} within {timeout:.0f} s")


def quietly(action: Callable[[], object]) -> None:
    """Run a clean-up step; a failure is printed, not raised."""
    try:
        action()
    except Exception as error:
        print(f"  (clean-up: {error})", file=sys.stderr)
