"""Fixtures every layer's tests share: a database URL and clients aimed at LocalStack."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str | None]:
    """With TEST_DATABASE_URL, a database of this test run (each xdist worker its own) on that
    server, dropped at the end: nothing another run, branch or schema version left in the named
    database can disturb it. None without TEST_DATABASE_URL."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield None
        return
    from shared.tests.databases import throwaway_database

    with throwaway_database(server, f"test_run_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def database_url(postgres_database_url: str | None, tmp_path: Path) -> str:
    """PostgreSQL (this run's database) when TEST_DATABASE_URL is set, else a fresh SQLite file."""
    return postgres_database_url or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def localstack() -> Any:
    """A boto3-like session aimed at LocalStack (AWS_ENDPOINT_URL), failing clearly if down."""
    from localstack_client.session import Session

    from infra.local.localstack_runner import health

    endpoint = os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = int(endpoint.rsplit(":", 1)[1].rstrip("/"))
    if not health(port):
        pytest.fail(f"LocalStack does not answer at {endpoint}: start it with `make localstack-up`")
    return Session(region_name=os.environ["AWS_DEFAULT_REGION"])


@pytest.fixture
def unique_name() -> Iterator[str]:
    """A name no other test (or earlier run) uses."""
    yield f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def queues(localstack: Any) -> Iterator[Callable[..., str]]:
    """Create SQS queues (name, **attributes) that are deleted after the test."""
    sqs = localstack.client("sqs")
    created: list[str] = []

    def create(name: str, **attributes: str) -> str:
        url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        created.append(url)
        return url

    yield create
    for url in created:
        sqs.delete_queue(QueueUrl=url)
