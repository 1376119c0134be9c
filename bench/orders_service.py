"""The orders service as the bench runs it: through its CLI (``python -m services.orders``,
configured by ``ORDERS_*`` and ``AWS_*``) and its HTTP API, never through its code."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from bench.processes import ROOT, free_port, json_of, python_module, serving, stop

OPERATORS_PATH = "/bench/operators"  # the bench acts as no operator: orders are read by token
APPROVED_CARD = "tok_approve"  # the payment emulator's test card that is always authorized
LOCALSTACK_SECRET_KEY = "test"  # nosec B105  # LocalStack takes any credentials; "test" is its own
RATE_LIMITS = {
    # The bench's profile: every request comes from one address, far below these limits.
    "ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND": "100000",
    "ORDERS_RATE_LIMIT_OPERATOR_REQUESTS_PER_SECOND": "100000",
}
LOG_LEVEL = ("--log-level", "WARNING")


def environment(
    database_url: str,
    *,
    topic_arn: str,
    payments_queue_url: str,
    event_bus_name: str,
    updates_queue_url: str,
    aws_endpoint_url: str,
) -> dict[str, str]:
    """The service's settings for a database and the destinations it publishes to."""
    return {
        **RATE_LIMITS,
        "ORDERS_DATABASE_URL": database_url,
        "ORDERS_TOPIC_ARN": topic_arn,
        "ORDERS_PAYMENTS_QUEUE_URL": payments_queue_url,
        "ORDERS_EVENT_BUS_NAME": event_bus_name,
        "ORDERS_UPDATES_QUEUE_URL": updates_queue_url,
        "OPERATORS_PATH": OPERATORS_PATH,
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": LOCALSTACK_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def access(token: str) -> dict[str, str]:
    """The headers of the customer holding an order's access token (placement returned it)."""
    return {"Authorization": f"Bearer {token}"}


def placement_limit(api_url: str) -> str:
    """The placement limit the orders API at ``api_url`` enforces, as its ``RateLimit-Policy``
    header announces it (``"placements";q=N;w=S``): "N per S s per client". Asked with an empty
    order, which the API refuses, so nothing is placed."""
    answer = httpx.post(f"{api_url}/api/orders", json={}, timeout=30)
    return described(answer.headers.get("ratelimit-policy"))


def described(policy: str | None) -> str:
    """A ``RateLimit-Policy`` value (``"name";q=N;w=S``) in words."""
    if policy is None:
        return "none announced"
    fields = dict(part.strip().split("=", 1) for part in policy.split(";")[1:])
    return f"{fields['q']} per {fields['w']} s per client"


def _cli(*args: str) -> list[str]:
    return python_module("services.orders", *args)


@contextmanager
def api(env: Mapping[str, str]) -> Iterator[str]:
    """``serve`` (the HTTP API, migrating its database first) on a free port; its base URL."""
    port = free_port()
    command = _cli(*LOG_LEVEL, "serve", "--host", "127.0.0.1", "--port", str(port))
    with serving("orders API", command, env, port) as url:
        yield url


@contextmanager
def relay(env: Mapping[str, str]) -> Iterator[subprocess.Popen[Any]]:
    """``relay`` (the outbox relay) running until the block ends."""
    process = subprocess.Popen(_cli(*LOG_LEVEL, "relay"), cwd=ROOT, env={**os.environ, **env})
    try:
        yield process
    finally:
        stop(process)


def outbox_status(env: Mapping[str, str]) -> dict[str, Any]:
    """``outbox-status --json``: the unsent backlog per destination and its lag."""
    status: dict[str, Any] = json_of(_cli("outbox-status", "--json"), env)
    return status
