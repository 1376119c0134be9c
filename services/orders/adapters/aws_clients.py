"""The clients of the relay, the worker and the metrics, from the one factory with their own
tuning."""

from __future__ import annotations

from typing import Any

from shared import aws
from shared.settings import AwsSettings

CONNECT_TIMEOUT_SECONDS = 2


def relay_client(service: str, settings: AwsSettings) -> Any:
    """Short timeouts and one retry at most (the relay does the retrying, with its own backoff),
    a pool large enough for concurrent calls."""
    return aws.client(
        service,
        settings,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=10,
        max_attempts=1,
        max_pool_connections=20,
    )


def worker_client(settings: AwsSettings, wait_seconds: int) -> Any:
    """An SQS client whose read timeout outlasts the long poll of ``wait_seconds``."""
    return aws.client(
        "sqs",
        settings,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=wait_seconds + 10,
        max_attempts=2,
    )


def metrics_client(settings: AwsSettings) -> Any:
    """A CloudWatch client that gives up soon (one retry, short timeouts): a metric is not worth
    holding up the loop that counts it."""
    return aws.client(
        "cloudwatch",
        settings,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=5,
        max_attempts=1,
    )
