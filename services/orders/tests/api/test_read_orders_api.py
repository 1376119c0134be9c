"""Reading orders: one from its stream, its timeline (its customer's token), and lists from the
read model (an operator's credential)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.orders import bootstrap
from services.orders.tests.api.order_requests import (
    apply_reply,
    bearer,
    customer_of,
    expect_problem,
    place,
)
from shared.contracts import (
    InventoryReserved,
    envelope_for,
)

pytestmark = pytest.mark.integration


def test_an_order_is_read_from_its_stream(client: TestClient, orders: bootstrap.Orders) -> None:
    order = place(client)
    apply_reply(orders, InventoryReserved(order_id=order["order_id"]))

    response = client.get(f"/api/orders/{order['order_id']}", headers=customer_of(order))

    assert response.status_code == 200
    assert response.json()["stock"] == "reserved"
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


@pytest.mark.parametrize("suffix", ["", "/events"])
def test_an_unknown_order_is_404(client: TestClient, suffix: str, operator: str) -> None:
    order_id = str(uuid.uuid4())
    for credential in (place(client)["access_token"], operator):
        response = client.get(f"/api/orders/{order_id}{suffix}", headers=bearer(credential))
        problem = expect_problem(response, 404, "Unknown order")
        assert problem["detail"] == f"no order with id {order_id!r}"


def test_the_timeline_lists_every_event_with_its_envelope(
    client: TestClient, orders: bootstrap.Orders
) -> None:
    order = place(client)
    reply = envelope_for(InventoryReserved(order_id=order["order_id"]))
    orders.service.apply_reply(reply)

    response = client.get(f"/api/orders/{order['order_id']}/events", headers=customer_of(order))

    assert response.status_code == 200
    timeline = response.json()
    placed, reserved = timeline["events"]
    assert [placed["version"], reserved["version"]] == [1, 2]
    assert placed["position"] < reserved["position"]
    assert (placed["type"], reserved["type"]) == ("OrderPlaced", "InventoryReserved")
    assert placed["payload"]["total"] == order["total"]
    assert reserved["event_id"] == str(reply.event_id)
    assert reserved["occurred_at"].startswith(reply.occurred_at.isoformat()[:19])
    assert placed["correlation_id"] == order["order_id"]
    assert placed["causation_id"] is not None


def test_orders_are_listed_newest_first_by_page_and_status(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    mine = [place(client)["order_id"] for _ in range(3)]
    orders.service.cancel(mine[1])
    orders.summaries.catch_up(gap_timeout=timedelta(0))

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(200):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/orders", params=params, headers=bearer(operator)).json()
        assert len(page["items"]) <= 2
        seen += [item["order_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None or set(mine) <= set(seen):
            break
    assert len(seen) == len(set(seen))
    assert [o for o in seen if o in mine] == list(reversed(mine))

    cancelled = client.get(
        "/api/orders", params={"status": "cancelled", "limit": 100}, headers=bearer(operator)
    ).json()
    assert all(item["status"] == "cancelled" for item in cancelled["items"])
    summary = next(item for item in cancelled["items"] if item["order_id"] == mine[1])
    assert summary["final_at"] is not None
    assert summary["item_count"] == 3
    assert summary["total"] == {"amount": 2 * 1299 + 3900, "currency": "EUR"}


@pytest.mark.parametrize(
    ("params", "status", "title", "words"),
    [
        ({"status": "lost"}, 422, "Invalid request", "query.status"),
        ({"limit": 0}, 422, "Invalid request", "query.limit"),
        ({"limit": 101}, 422, "Invalid request", "query.limit"),
        ({"cursor": "not-a-cursor"}, 422, "Invalid request", "query.cursor"),
    ],
)
def test_bad_list_parameters_are_refused(
    client: TestClient, params: dict[str, Any], status: int, title: str, words: str, operator: str
) -> None:
    response = client.get("/api/orders", params=params, headers=bearer(operator))
    assert words in expect_problem(response, status, title)["detail"]
