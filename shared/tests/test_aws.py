"""The one AWS client factory: aimed by configuration, cached, tuned where a caller needs it."""

from __future__ import annotations

import pytest

from shared import aws
from shared.settings import AwsSettings

EMULATOR = AwsSettings(aws_region="eu-west-1", aws_endpoint_url="http://127.0.0.1:4999")


def test_endpoint_region_and_retries_come_from_the_settings() -> None:
    """``aws_max_attempts`` is botocore's ``retries.max_attempts``: retries after the first."""
    client = aws.client("sqs", EMULATOR)
    assert (client.meta.endpoint_url, client.meta.region_name) == (
        "http://127.0.0.1:4999",
        "eu-west-1",
    )
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}


def test_without_settings_the_environment_aims_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4998")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    client = aws.client("events")
    assert (client.meta.endpoint_url, client.meta.region_name) == (
        "http://127.0.0.1:4998",
        "eu-central-1",
    )


def test_a_caller_sets_its_own_timeouts_attempts_and_pool() -> None:
    client = aws.client(
        "sqs",
        EMULATOR,
        connect_timeout=2,
        read_timeout=15,
        max_attempts=1,
        max_pool_connections=20,
    )
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (2, 15, 20)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_where_a_caller_sets_nothing_the_timeouts_are_short_and_outlast_a_long_poll() -> None:
    """Not botocore's 60 s: every call has a timeout of the factory's own."""
    config = aws.client("sns", EMULATOR, max_attempts=1).meta.config
    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (
        aws.CONNECT_TIMEOUT_SECONDS,
        aws.READ_TIMEOUT_SECONDS,
        10,
    )
    longest_long_poll = 20
    assert longest_long_poll < aws.READ_TIMEOUT_SECONDS < 60
    assert aws.CONNECT_TIMEOUT_SECONDS < 60


def test_clients_are_cached_per_service_settings_and_tuning() -> None:
    assert aws.client("sqs", EMULATOR) is aws.client("sqs", EMULATOR)
    assert aws.client("sqs", EMULATOR) is not aws.client("sqs", EMULATOR, max_attempts=1)
    assert aws.client("sqs", EMULATOR) is not aws.client("sns", EMULATOR)
