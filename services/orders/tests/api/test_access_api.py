"""Who reaches an order: its customer with the access token placement returned, operators with
their own credential; nobody else, and a wrong token looks exactly like an unknown order."""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from services.orders import bootstrap
from services.orders.settings import OrdersSettings
from services.orders.tests.api.order_requests import (
    bearer,
    customer_of,
    expect_problem,
    place,
)
from shared.contracts import OrderFlaggedForReview, envelope_for
from shared.operators import DirectoryUnavailable, OperatorSettings
from shared.settings import AwsSettings
from shared.tests.operators import StaticDirectory, parameter_store_operators

pytestmark = pytest.mark.integration

CACHE_SECONDS = 2
Request = Callable[[TestClient, str, Mapping[str, str]], Response]

ORDER_ROUTES: dict[str, Request] = {
    "read": lambda client, order_id, headers: client.get(
        f"/api/orders/{order_id}", headers=headers
    ),
    "follow": lambda client, order_id, headers: client.get(
        f"/api/orders/{order_id}/events", headers=headers
    ),
    "cancel": lambda client, order_id, headers: client.post(
        f"/api/orders/{order_id}/cancel", headers=headers
    ),
}


def status_of(client: TestClient, order: dict[str, Any]) -> str:
    response = client.get(f"/api/orders/{order['order_id']}", headers=customer_of(order))
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


@pytest.mark.parametrize("route", ORDER_ROUTES)
def test_an_anonymous_client_cannot_read_follow_or_cancel_an_order(
    client: TestClient, route: str
) -> None:
    order = place(client)

    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        response = ORDER_ROUTES[route](client, order["order_id"], headers)
        problem = expect_problem(response, 401, "Access token missing")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in problem["detail"]
        assert order["order_id"] not in response.text.replace(problem["instance"], "")
    assert status_of(client, order) == "awaiting_replies"


def test_an_anonymous_client_or_a_customer_cannot_list_orders(client: TestClient) -> None:
    order = place(client)

    anonymous = client.get("/api/orders")
    customer = client.get("/api/orders", headers=customer_of(order))

    expect_problem(anonymous, 401, "Operator credential missing")
    expect_problem(customer, 401, "Operator credential wrong")
    assert order["customer_email"] not in anonymous.text + customer.text


@pytest.mark.parametrize("route", ORDER_ROUTES)
def test_another_customers_token_cannot_reach_an_order(client: TestClient, route: str) -> None:
    mine, theirs = place(client), place(client)

    response = ORDER_ROUTES[route](client, mine["order_id"], customer_of(theirs))

    expect_problem(response, 404, "Unknown order")
    assert mine["customer_email"] not in response.text
    assert status_of(client, mine) == "awaiting_replies"


def test_the_customer_with_the_token_reads_follows_and_cancels_the_order(
    client: TestClient,
) -> None:
    order = place(client)
    mine = customer_of(order)

    read = ORDER_ROUTES["read"](client, order["order_id"], mine)
    followed = ORDER_ROUTES["follow"](client, order["order_id"], mine)
    cancelled = ORDER_ROUTES["cancel"](client, order["order_id"], mine)

    assert (read.status_code, followed.status_code, cancelled.status_code) == (200, 200, 200)
    assert read.headers["cache-control"] == "private, no-store"
    assert read.json()["customer_email"] == order["customer_email"]
    assert [e["type"] for e in followed.json()["events"]] == ["OrderPlaced"]
    assert cancelled.json()["status"] == "cancelled"
    assert "access_token" not in read.json() and "access_token" not in cancelled.json()


def test_an_operator_lists_and_reads_every_order_but_cannot_cancel_one(
    client: TestClient, operator: str, orders: bootstrap.Orders
) -> None:
    order = place(client)
    orders.summaries.catch_up()
    as_operator = bearer(operator)

    listed = client.get("/api/orders", params={"limit": 100}, headers=as_operator)
    read = ORDER_ROUTES["read"](client, order["order_id"], as_operator)
    followed = ORDER_ROUTES["follow"](client, order["order_id"], as_operator)
    cancel = ORDER_ROUTES["cancel"](client, order["order_id"], as_operator)

    assert order["order_id"] in [item["order_id"] for item in listed.json()["items"]]
    assert (read.status_code, followed.status_code) == (200, 200)
    expect_problem(cancel, 404, "Unknown order")
    assert status_of(client, order) == "awaiting_replies"


def _anonymised(response: Response, order_id: str) -> tuple[int, str, str]:
    return (
        response.status_code,
        response.headers["content-type"],
        response.text.replace(order_id, "<id>"),
    )


@pytest.mark.parametrize("route", ORDER_ROUTES)
def test_a_wrong_token_and_an_unknown_order_get_the_same_answer(
    client: TestClient, route: str
) -> None:
    order, unknown = place(client), str(uuid.uuid4())
    wrong = bearer(place(client)["access_token"])

    existing = ORDER_ROUTES[route](client, order["order_id"], wrong)
    missing = ORDER_ROUTES[route](client, unknown, wrong)

    assert _anonymised(existing, order["order_id"]) == _anonymised(missing, unknown)
    assert existing.status_code == 404
    assert "etag" not in existing.headers


@pytest.mark.parametrize("order_id", ["%00", "not-an-order-id", "x" * 300, "%F0%9F%90%8D"])
def test_an_id_no_order_can_have_is_an_unknown_order(client: TestClient, order_id: str) -> None:
    token = bearer(place(client)["access_token"])
    for route in ORDER_ROUTES.values():
        expect_problem(route(client, order_id, token), 404, "Unknown order")


def test_a_wrong_token_takes_as_long_as_an_unknown_order(
    client: TestClient, orders: bootstrap.Orders
) -> None:
    """Medians of interleaved requests, within a bound generous enough for a busy machine: an
    early answer for unknown orders (no token check) or a stream read for known ones would
    show as a difference of a database round trip or more."""
    order = place(client)
    for _ in range(20):  # other orders in the tables, as in a shop
        place(client)
    wrong = bearer(place(client)["access_token"])
    timings: dict[str, list[float]] = {"existing": [], "unknown": []}
    for _ in range(60):
        for kind, order_id in (("existing", order["order_id"]), ("unknown", str(uuid.uuid4()))):
            began = time.perf_counter()
            response = client.get(f"/api/orders/{order_id}", headers=wrong)
            timings[kind].append(time.perf_counter() - began)
            assert response.status_code == 404

    existing, unknown = (statistics.median(timings[kind]) for kind in ("existing", "unknown"))
    assert abs(existing - unknown) <= 0.35 * max(existing, unknown) + 0.0005, timings


def test_no_token_or_credential_appears_in_any_log_line(
    client: TestClient, operator: str, orders: bootstrap.Orders, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    order = place(client)
    orders.service.apply_reply(
        envelope_for(OrderFlaggedForReview(order_id=order["order_id"], score=90, reasons=("x",)))
    )
    for route in ORDER_ROUTES.values():
        route(client, order["order_id"], customer_of(order))
        route(client, str(uuid.uuid4()), customer_of(order))
        route(client, order["order_id"], bearer(operator))
    client.get("/api/orders", headers=bearer(operator))
    client.get("/api/orders", headers=customer_of(order))
    client.post(
        f"/api/orders/{order['order_id']}/review",
        json={"decision": "reject"},
        headers=bearer(operator),
    )

    assert caplog.records, "nothing was logged: the test would prove nothing"
    # the server's access log is checked where a real server runs (tests/integration/test_cli)
    for secret in (order["access_token"], operator):
        assert secret not in caplog.text
        assert all(secret not in str(record.__dict__) for record in caplog.records)


def test_a_removed_operator_is_refused_within_the_cache_lifetime(
    orders: bootstrap.Orders, settings: OrdersSettings, localstack: Any, unique_name: str
) -> None:
    aws = AwsSettings()
    operator_settings = OperatorSettings(
        operators_path=f"/{unique_name}/operators", operators_cache_seconds=CACHE_SECONDS
    )
    app = bootstrap.api(
        orders,
        settings,
        aws,
        operators=bootstrap.operators(aws, operator_settings),
        emulator_check=lambda: None,
    )
    registry = bootstrap.operator_registry(aws, operator_settings)
    with parameter_store_operators(registry.ssm, registry.path), TestClient(app) as client:
        credential = registry.add("carol")
        order = place(client)
        assert client.get("/api/orders", headers=bearer(credential)).status_code == 200

        registry.remove("carol")
        removed_at = time.monotonic()
        while client.get("/api/orders", headers=bearer(credential)).status_code == 200:
            assert time.monotonic() - removed_at < CACHE_SECONDS + 1, "still admitted"
            time.sleep(0.1)

        expect_problem(
            client.get("/api/orders", headers=bearer(credential)), 401, "Operator credential wrong"
        )
        expect_problem(
            client.get(f"/api/orders/{order['order_id']}", headers=bearer(credential)),
            404,
            "Unknown order",
        )


class Unreachable(StaticDirectory):
    def digests(self) -> Mapping[str, str]:
        raise DirectoryUnavailable("the parameter store does not answer")


def test_without_the_operator_directory_operators_are_refused_customers_served(
    client: TestClient, directory: StaticDirectory, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = place(client)
    monkeypatch.setattr(directory, "digests", Unreachable().digests)

    listed = client.get("/api/orders", headers=bearer(operator))
    read = client.get(f"/api/orders/{order['order_id']}", headers=customer_of(order))

    expect_problem(listed, 503, "Operator directory unavailable")
    assert listed.headers["retry-after"] == "5"
    assert read.status_code == 200
