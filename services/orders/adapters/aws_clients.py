"""The boto3 clients of the relay and the worker, which need their own timeouts and retries.

A stand-in until ``shared.aws.client`` takes connect and read timeouts, a number of attempts and
a connection pool size; everything else uses ``shared.aws.client``.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from shared.settings import AwsSettings


def relay_client(service: str, aws: AwsSettings) -> Any:
    """Short timeouts and a single attempt (the relay does the retrying, with its own backoff),
    a pool large enough for concurrent calls."""
    return _client(service, aws, read_timeout=10, max_attempts=1, max_pool_connections=20)


def worker_client(aws: AwsSettings, wait_seconds: int) -> Any:
    """An SQS client whose read timeout outlasts the long poll of ``wait_seconds``."""
    return _client("sqs", aws, read_timeout=wait_seconds + 10, max_attempts=2)


def _client(
    service: str,
    aws: AwsSettings,
    *,
    read_timeout: int,
    max_attempts: int,
    max_pool_connections: int | None = None,
) -> Any:
    pool = {} if max_pool_connections is None else {"max_pool_connections": max_pool_connections}
    return boto3.client(
        service,
        region_name=aws.aws_region,
        endpoint_url=aws.aws_endpoint_url,
        config=Config(
            connect_timeout=2,
            read_timeout=read_timeout,
            retries={"mode": "standard", "max_attempts": max_attempts},
            **pool,
        ),
    )
