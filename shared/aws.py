"""The one factory of AWS clients: aimed by configuration, no code branches on where it runs."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from shared.settings import AwsSettings, load

# botocore waits 60 s for a connection and 60 s for each read: far longer than anything here can
# wait. A read must outlast SQS's longest long poll (20 s); a connection comes at once or not.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30


def client(
    service: str,
    settings: AwsSettings | None = None,
    *,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    max_attempts: int | None = None,
    max_pool_connections: int | None = None,
) -> Any:
    """A cached client (connection reuse). Endpoint and region come from ``settings`` (the
    environment when none are given); ``max_attempts`` (else ``settings.aws_max_attempts``) is
    botocore's ``retries.max_attempts``, the retries after the first call (standard mode);
    the timeouts are ``CONNECT_TIMEOUT_SECONDS`` and ``READ_TIMEOUT_SECONDS`` and the pool size
    botocore's, unless a caller needs its own."""
    return _client(
        service,
        settings or load(AwsSettings),
        CONNECT_TIMEOUT_SECONDS if connect_timeout is None else connect_timeout,
        READ_TIMEOUT_SECONDS if read_timeout is None else read_timeout,
        max_attempts,
        max_pool_connections,
    )


@cache
def _client(
    service: str,
    settings: AwsSettings,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int | None,
    max_pool_connections: int | None,
) -> Any:
    pool = {} if max_pool_connections is None else {"max_pool_connections": max_pool_connections}
    attempts = settings.aws_max_attempts if max_attempts is None else max_attempts
    return boto3.client(
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            **pool,
        ),
    )
