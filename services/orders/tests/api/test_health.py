"""GET /api/health against a real database and a real (or unreachable) emulator."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.orders import bootstrap
from services.orders.api.health import PROBE_READ_TIMEOUT_SECONDS
from services.orders.settings import OrdersSettings
from shared.operators import Operators
from shared.settings import AwsSettings
from shared.tests.operators import StaticDirectory

pytestmark = pytest.mark.integration


@contextmanager
def _client(settings: OrdersSettings, topic_arn: str) -> Iterator[TestClient]:
    orders = bootstrap.orders(settings.database_url)
    try:
        app = bootstrap.api(
            orders,
            settings.model_copy(update={"topic_arn": topic_arn}),
            AwsSettings(),
            operators=Operators(StaticDirectory()),
        )
        with TestClient(app) as client:
            yield client
    finally:
        orders.close()


@pytest.fixture
def topic_arn(localstack: Any, unique_name: str) -> Iterator[str]:
    sns = localstack.client("sns")
    arn: str = sns.create_topic(Name=unique_name)["TopicArn"]
    yield arn
    sns.delete_topic(TopicArn=arn)


def test_healthy_when_database_and_topic_answer(settings: OrdersSettings, topic_arn: str) -> None:
    with _client(settings, topic_arn) as client:
        response = client.get("/api/health")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "status": "ok",
            "checks": {
                "database": {"status": "ok", "detail": None},
                "emulator": {"status": "ok", "detail": None},
            },
        }


def test_degraded_when_the_topic_does_not_exist(
    settings: OrdersSettings, localstack: Any, unique_name: str
) -> None:
    missing = f"arn:aws:sns:us-east-1:000000000000:{unique_name}-missing"
    with _client(settings, missing) as client:
        response = client.get("/api/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["database"]["status"] == "ok"
        assert body["checks"]["emulator"]["status"] == "unavailable"
        assert "NotFound" in body["checks"]["emulator"]["detail"]


def test_degraded_when_the_emulator_is_unreachable(
    settings: OrdersSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with _client(settings, settings.topic_arn) as client:
        response = client.get("/api/health")
        assert response.status_code == 503
        emulator = response.json()["checks"]["emulator"]
        assert emulator["status"] == "unavailable"
        assert "EndpointConnectionError" in emulator["detail"]


def test_degraded_within_seconds_when_the_emulator_accepts_but_never_answers(
    settings: OrdersSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frozen emulator (SIGSTOP) still completes TCP handshakes in the kernel: without its
    own timeout the probe would hang for botocore's 60 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        with _client(settings, settings.topic_arn) as client:
            started = time.monotonic()
            response = client.get("/api/health")
            elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "ReadTimeout" in response.json()["checks"]["emulator"]["detail"]
    assert elapsed < PROBE_READ_TIMEOUT_SECONDS + 2
