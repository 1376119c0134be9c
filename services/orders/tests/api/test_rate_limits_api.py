"""Rate limits per client on a real database, with the limits from ``ORDERS_RATE_LIMIT_*`` and a
clock of the test's (so "within one second" is exact): order placement per client address, and
operator requests per operator, or per address while the credential is missing or wrong."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.orders import bootstrap
from services.orders.settings import OrdersSettings
from services.orders.tests.api.order_requests import (
    bearer,
    customer_of,
    expect_problem,
    order_body,
    place,
)
from services.orders.tests.clock import ManualClock
from shared.operators import Operators
from shared.tests.operators import StaticDirectory

pytestmark = pytest.mark.integration

LIMIT = 4
CLIENT = {"X-Forwarded-For": "203.0.113.7"}  # as the edge forwards a viewer's request
ANOTHER_CLIENT = {"X-Forwarded-For": "198.51.100.9"}
TOO_MANY = "Too many requests"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limited(
    monkeypatch: pytest.MonkeyPatch,
    orders: bootstrap.Orders,
    settings: OrdersSettings,
    directory: StaticDirectory,
    clock: ManualClock,
) -> Iterator[TestClient]:
    """The API behind one proxy, with the limits read from the environment."""
    monkeypatch.setenv("ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND", str(LIMIT))
    monkeypatch.setenv("ORDERS_RATE_LIMIT_OPERATOR_REQUESTS_PER_SECOND", str(LIMIT))
    monkeypatch.setenv("ORDERS_RATE_LIMIT_TRUSTED_PROXY_HOPS", "1")
    app = bootstrap.api(
        orders,
        settings,
        operators=Operators(directory),
        emulator_check=lambda: None,
        clock=clock,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def expect_too_many(response: Any) -> dict[str, Any]:
    problem = expect_problem(response, 429, TOO_MANY)
    assert response.headers["retry-after"] == "1"
    return problem


def placed(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def test_placement_limit_plus_one_from_a_client_is_refused_and_another_client_served(
    limited: TestClient, clock: ManualClock, writes: Any
) -> None:
    for _ in range(LIMIT):
        placed(limited.post("/api/orders", json=order_body(), headers=CLIENT))
    marker = f"tok_{uuid.uuid4().hex}"
    refused_body = order_body(payment_token=marker)
    retried = {**CLIENT, "Idempotency-Key": marker}

    refused = limited.post("/api/orders", json=refused_body, headers=retried)
    forged = limited.post(
        "/api/orders", json=order_body(), headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.7"}
    )
    other = limited.post("/api/orders", json=order_body(), headers=ANOTHER_CLIENT)

    problem = expect_too_many(refused)
    assert problem["instance"] == "/api/orders"
    assert refused.headers["ratelimit-policy"] == f'"placements";q={LIMIT};w=1'
    assert problem["detail"] == (
        f"More than {LIMIT} order placements a second from your address; nothing was done."
        " Retry after 1 s."
    )
    assert writes.mentioning(marker) == []  # no event, outbox record or idempotency key
    expect_too_many(forged)  # a leftmost address the client wrote itself changes nothing
    assert placed(other) and other.headers["ratelimit-policy"] == f'"placements";q={LIMIT};w=1'

    clock.advance(1.0)
    retry = limited.post("/api/orders", json=refused_body, headers=retried)

    placed(retry)
    assert "idempotent-replayed" not in retry.headers  # the refused request stored no key


def test_placement_limit_counts_requests_within_any_one_second(
    limited: TestClient, clock: ManualClock
) -> None:
    for _ in range(LIMIT):
        placed(limited.post("/api/orders", json=order_body(), headers=CLIENT))
        clock.advance(0.2)

    expect_too_many(limited.post("/api/orders", json=order_body(), headers=CLIENT))
    clock.advance(0.2)  # the first placement is now a second old
    placed(limited.post("/api/orders", json=order_body(), headers=CLIENT))


def test_an_operator_over_the_limit_is_refused_on_every_operator_route_another_is_served(
    limited: TestClient, directory: StaticDirectory
) -> None:
    alice, bob = directory.issue("alice"), directory.issue("bob")
    order = place(limited)
    for _ in range(LIMIT):
        assert limited.get("/api/orders", headers=bearer(alice) | CLIENT).status_code == 200

    for route in ("/api/orders", f"/api/orders/{order['order_id']}", "/api/ops/set-aside-events"):
        problem = expect_too_many(limited.get(route, headers=bearer(alice) | CLIENT))
        assert problem["detail"].startswith(
            f"More than {LIMIT} operator requests a second by operator 'alice'"
        )
    assert limited.get("/api/orders", headers=bearer(bob) | CLIENT).status_code == 200
    order_route = f"/api/orders/{order['order_id']}"
    assert limited.get(order_route, headers=customer_of(order) | CLIENT).status_code == 200


def test_wrong_credentials_are_limited_per_address_even_the_right_one_after_them(
    limited: TestClient, clock: ManualClock, directory: StaticDirectory
) -> None:
    alice = directory.issue("alice")
    for attempt in range(LIMIT):
        guess = limited.get("/api/orders", headers=bearer(f"guess-{attempt}") | CLIENT)
        expect_problem(guess, 401, "Operator credential wrong")

    expect_too_many(limited.get("/api/orders", headers=bearer("guess-next") | CLIENT))
    expect_too_many(limited.get("/api/orders", headers=CLIENT))  # no credential at all
    expect_too_many(limited.get("/api/ops/set-aside-events", headers=bearer(alice) | CLIENT))
    assert limited.get("/api/orders", headers=bearer(alice) | ANOTHER_CLIENT).status_code == 200

    clock.advance(1.0)
    assert limited.get("/api/orders", headers=bearer(alice) | CLIENT).status_code == 200


def test_tokens_that_are_no_ones_count_against_the_address_on_an_order(
    limited: TestClient,
) -> None:
    order = place(limited)
    route = f"/api/orders/{order['order_id']}"
    for attempt in range(LIMIT):
        guess = limited.get(route, headers=bearer(f"guess-{attempt}") | CLIENT)
        expect_problem(guess, 404, "Unknown order")

    expect_too_many(limited.get(route, headers=bearer("guess-next") | CLIENT))
    assert limited.get(route, headers=customer_of(order) | CLIENT).status_code == 200


def test_the_429_is_documented_with_retry_after(limited: TestClient) -> None:
    paths = limited.get("/api/openapi.json").json()["paths"]
    operations = [
        paths["/api/orders"]["post"],
        paths["/api/orders"]["get"],
        paths["/api/orders/{order_id}"]["get"],
        paths["/api/orders/{order_id}/review"]["post"],
        paths["/api/ops/set-aside-events"]["get"],
    ]

    for operation in operations:
        documented = operation["responses"]["429"]
        assert "application/problem+json" in documented["content"]
        assert documented["headers"]["Retry-After"]["required"] is True
