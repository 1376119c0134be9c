"""The orders service as a process, for tests that run its CLI: the command, a free port, and an
environment on a topic, queues, an event bus and an operators path of the test's own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]


def cli(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m services.orders <args>`` with ``env``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "services.orders", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def add_operator(env: dict[str, str], name: str) -> str:
    """A new operator's credential, from ``operators add``."""
    added = cli("operators", "add", name, env=env)
    assert added.returncode == 0, added.stderr
    return added.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """``serve`` with ``env`` on a free port of 127.0.0.1: its base URL once its health check
    answers 200; stopped when the block ends."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "services.orders", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not become healthy in 60 s"
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def base_environment() -> dict[str, str]:
    """What every process needs: the shell's basics and the emulator's endpoint and credentials."""
    keep = ("PATH", "HOME", "LANG", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.update(AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    return env


@contextmanager
def orders_environment(
    localstack: Any,
    queues: Callable[..., str],
    name: str,
    database_url: str,
    **updates_queue_attributes: str,
) -> Iterator[dict[str, str]]:
    """The environment of a complete orders process on resources named after ``name``, which
    are deleted afterwards (the queues by the ``queues`` fixture)."""
    sns, events, ssm = (localstack.client(service) for service in ("sns", "events", "ssm"))
    topic_arn = sns.create_topic(Name=f"{name}-order-events")["TopicArn"]
    bus = f"{name}-orders"
    events.create_event_bus(Name=bus)
    operators_path = f"/{name}/operators"
    try:
        yield {
            **base_environment(),
            "ORDERS_DATABASE_URL": database_url,
            "ORDERS_TOPIC_ARN": topic_arn,
            "ORDERS_PAYMENTS_QUEUE_URL": queues(f"{name}-payments.fifo", FifoQueue="true"),
            "ORDERS_EVENT_BUS_NAME": bus,
            "ORDERS_UPDATES_QUEUE_URL": queues(f"{name}-updates", **updates_queue_attributes),
            "ORDERS_STACK_NAME": name,
            "OPERATORS_PATH": operators_path,
            # the profile of these tests: the fuzzer and the CLI tests are never throttled
            "ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND": "1000",
            "ORDERS_RATE_LIMIT_OPERATOR_REQUESTS_PER_SECOND": "1000",
        }
    finally:
        events.delete_event_bus(Name=bus)
        sns.delete_topic(TopicArn=topic_arn)
        for parameter in ssm.get_parameters_by_path(Path=operators_path)["Parameters"]:
            ssm.delete_parameter(Name=parameter["Name"])
