"""Cancelling and reviewing orders: the transitions, If-Match, the operator token, and that a
refused command wrote nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.orders import bootstrap
from services.orders.adapters.event_store import SqlEventStore
from services.orders.tests.api.order_requests import (
    OPERATOR_TOKEN,
    apply_reply,
    authorization,
    expect_problem,
    mark_now,
    place,
)
from shared.contracts import (
    FraudCheckPassed,
    InventoryReserved,
    OrderFlaggedForReview,
)

pytestmark = pytest.mark.integration


def test_cancelling_records_it_and_again_changes_nothing(
    client: TestClient, engine: Engine
) -> None:
    order = place(client)
    url = f"/api/orders/{order['order_id']}/cancel"

    first = client.post(url, json={"reason": "changed my mind"})
    again = client.post(url)

    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert first.json()["cancel_reason"] == "changed my mind"
    assert again.json() == first.json()
    types = [e.type for e in SqlEventStore(engine).read_stream(order["order_id"])]
    assert types == ["OrderPlaced", "OrderCancelled"]


def test_a_confirmed_order_cannot_be_cancelled(
    client: TestClient, engine: Engine, writes: Any, orders: bootstrap.Orders
) -> None:
    order = place(client)
    for reply in (
        InventoryReserved(order_id=order["order_id"]),
        authorization(order),
        FraudCheckPassed(order_id=order["order_id"]),
    ):
        apply_reply(orders, reply)
    before = mark_now(writes, engine)

    response = client.post(f"/api/orders/{order['order_id']}/cancel")

    problem = expect_problem(response, 409, "Invalid transition")
    assert "is confirmed and can no longer be cancelled" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_cancelling_an_unknown_order_is_404(client: TestClient) -> None:
    expect_problem(client.post(f"/api/orders/{uuid.uuid4()}/cancel"), 404, "Unknown order")


def test_a_stale_if_match_is_a_conflict_and_writes_nothing(
    client: TestClient, engine: Engine, writes: Any, orders: bootstrap.Orders
) -> None:
    order = place(client)
    apply_reply(orders, InventoryReserved(order_id=order["order_id"]))
    before = mark_now(writes, engine)

    response = client.post(f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": '"1"'})

    problem = expect_problem(response, 409, "Concurrent change")
    assert "expected version 1, found 2" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []
    current = client.get(f"/api/orders/{order['order_id']}")
    ok = client.post(
        f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": current.headers["etag"]}
    )
    assert ok.json()["status"] == "cancelled"


def test_a_malformed_if_match_is_refused(client: TestClient) -> None:
    order = place(client)
    response = client.post(f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": "v1"})
    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["header.if-match"]
    assert client.get(f"/api/orders/{order['order_id']}").json()["status"] == "awaiting_replies"


# --- review --------------------------------------------------------------------------------


def _on_hold(client: TestClient, orders: bootstrap.Orders) -> dict[str, Any]:
    order = place(client)
    apply_reply(
        orders, OrderFlaggedForReview(order_id=order["order_id"], score=90, reasons=("amount",))
    )
    return order


def _review(client: TestClient, order_id: str, token: str | None, **body: Any) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    payload = {"decision": "approve", "reviewer": "ops@example.com"} | body
    return client.post(f"/api/orders/{order_id}/review", json=payload, headers=headers)


def test_a_reviewer_approves_an_order_on_hold(client: TestClient, orders: bootstrap.Orders) -> None:
    order = _on_hold(client, orders)
    apply_reply(orders, InventoryReserved(order_id=order["order_id"]))
    apply_reply(orders, authorization(order))

    response = _review(client, order["order_id"], OPERATOR_TOKEN)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    assert response.json()["fraud"] == "approved"


def test_a_reviewer_rejects_an_order_on_hold(client: TestClient, orders: bootstrap.Orders) -> None:
    order = _on_hold(client, orders)

    response = _review(
        client, order["order_id"], OPERATOR_TOKEN, decision="reject", reason="stolen card"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "stolen card"


def test_review_without_the_operator_token_is_401(
    client: TestClient, engine: Engine, writes: Any, orders: bootstrap.Orders
) -> None:
    order = _on_hold(client, orders)
    before = mark_now(writes, engine)
    response = _review(client, order["order_id"], None)
    problem = expect_problem(response, 401, "Operator token missing")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_review_with_a_wrong_operator_token_is_403(
    client: TestClient, engine: Engine, writes: Any, orders: bootstrap.Orders
) -> None:
    order = _on_hold(client, orders)
    before = mark_now(writes, engine)
    response = _review(client, order["order_id"], "not-the-operator-token")
    expect_problem(response, 403, "Operator token wrong")
    assert before.mentioning(order["order_id"]) == []
    assert client.get(f"/api/orders/{order['order_id']}").json()["status"] == "on_hold"


def test_review_of_an_order_not_on_hold_is_a_conflict(
    client: TestClient, engine: Engine, writes: Any
) -> None:
    order = place(client)
    before = mark_now(writes, engine)
    problem = expect_problem(
        _review(client, order["order_id"], OPERATOR_TOKEN), 409, "Invalid transition"
    )
    assert "not on hold for review" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_review_needs_a_decision(client: TestClient, orders: bootstrap.Orders) -> None:
    order = _on_hold(client, orders)
    problem = expect_problem(
        _review(client, order["order_id"], OPERATOR_TOKEN, decision="maybe"),
        422,
        "Invalid request",
    )
    assert problem["errors"][0]["field"] == "decision"


def test_review_of_an_unknown_order_is_404(client: TestClient) -> None:
    expect_problem(_review(client, str(uuid.uuid4()), OPERATOR_TOKEN), 404, "Unknown order")
