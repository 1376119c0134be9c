"""The rate limit of ``python -m services.orders serve`` on real sockets and the real clock:
within one second, placement limit + 1 from one address gets 429 with ``Retry-After`` while
another address (127.0.0.2, also this machine) is served; the limit comes from the environment.
With no proxy trusted, an ``X-Forwarded-For`` the client writes changes nothing (the server does
not let uvicorn take the client from it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from services.orders.tests.processes import orders_environment, serving

pytestmark = pytest.mark.integration

LIMIT = 3


@pytest.fixture
def api(
    database_url: str, localstack: Any, queues: Callable[..., str], unique_name: str
) -> Iterator[str]:
    """``serve`` reached directly (no proxy trusted: the socket's peer is the client)."""
    with orders_environment(localstack, queues, unique_name, database_url) as env:
        limited = {
            **env,
            "ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND": str(LIMIT),
            "ORDERS_RATE_LIMIT_TRUSTED_PROXY_HOPS": "0",
        }
        with serving(limited) as base_url:
            yield base_url


def client_at(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def order() -> dict[str, object]:
    return {
        "customer_email": f"{uuid.uuid4().hex[:10]}@example.com",
        "shipping_country": "DE",
        "lines": [{"sku": "MUG-001", "quantity": 1}],
        "payment_token": "tok_approve",
    }


def test_limit_plus_one_within_a_second_is_refused_while_another_client_is_served(
    api: str,
) -> None:
    forged = {"X-Forwarded-For": "198.51.100.1"}
    with client_at("127.0.0.1") as one, client_at("127.0.0.2") as another:
        one.get(f"{api}/api/health").raise_for_status()
        # sent at once, so they arrive within the second however long each placement takes
        with ThreadPoolExecutor(LIMIT + 1) as pool:
            answers = list(
                pool.map(
                    lambda headers: one.post(f"{api}/api/orders", json=order(), headers=headers),
                    [{}] * LIMIT + [forged],
                )
            )
        other = another.post(f"{api}/api/orders", json=order())

    assert sorted(answer.status_code for answer in answers) == [201] * LIMIT + [429]
    (refused,) = [answer for answer in answers if answer.status_code == 429]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["title"] == "Too many requests"
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["ratelimit-policy"] == f'"placements";q={LIMIT};w=1'
    assert other.status_code == 201, other.text
