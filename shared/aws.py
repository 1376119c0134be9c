"""AWS clients aimed by configuration: no code branches on where it runs."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from shared.settings import AwsSettings


@cache
def client(service: str, settings: AwsSettings | None = None) -> Any:
    """A cached client (connection reuse); endpoint and region come from settings."""
    aws = settings or AwsSettings()
    return boto3.client(
        service,
        region_name=aws.aws_region,
        endpoint_url=aws.aws_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": aws.aws_max_attempts}),
    )
