"""Cancelling and reviewing orders: the transitions, If-Match, the customer's access token and
the operator's credential, and that a refused command wrote nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.orders import bootstrap
from services.orders.adapters.event_store import SqlEventStore
from services.orders.tests.api.order_requests import (
    OPERATOR,
    apply_reply,
    authorization,
    bearer,
    customer_of,
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

    first = client.post(url, json={"reason": "changed my mind"}, headers=customer_of(order))
    again = client.post(url, headers=customer_of(order))

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

    response = client.post(f"/api/orders/{order['order_id']}/cancel", headers=customer_of(order))

    problem = expect_problem(response, 409, "Invalid transition")
    assert "is confirmed and can no longer be cancelled" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_cancelling_an_unknown_order_is_404(client: TestClient) -> None:
    order = place(client)
    expect_problem(
        client.post(f"/api/orders/{uuid.uuid4()}/cancel", headers=customer_of(order)),
        404,
        "Unknown order",
    )


def test_a_stale_if_match_is_a_conflict_and_writes_nothing(
    client: TestClient, engine: Engine, writes: Any, orders: bootstrap.Orders
) -> None:
    order = place(client)
    apply_reply(orders, InventoryReserved(order_id=order["order_id"]))
    before = mark_now(writes, engine)

    mine = customer_of(order)
    response = client.post(
        f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": '"1"', **mine}
    )

    problem = expect_problem(response, 409, "Concurrent change")
    assert "expected version 1, found 2" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []
    current = client.get(f"/api/orders/{order['order_id']}", headers=mine)
    ok = client.post(
        f"/api/orders/{order['order_id']}/cancel",
        headers={"If-Match": current.headers["etag"], **mine},
    )
    assert ok.json()["status"] == "cancelled"


def test_a_malformed_if_match_is_refused(client: TestClient) -> None:
    order = place(client)
    response = client.post(
        f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": "v1", **customer_of(order)}
    )
    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["header.if-match"]
    order_now = client.get(f"/api/orders/{order['order_id']}", headers=customer_of(order))
    assert order_now.json()["status"] == "awaiting_replies"


# --- review --------------------------------------------------------------------------------


def _on_hold(client: TestClient, orders: bootstrap.Orders) -> dict[str, Any]:
    order = place(client)
    apply_reply(
        orders, OrderFlaggedForReview(order_id=order["order_id"], score=90, reasons=("amount",))
    )
    return order


def _review(client: TestClient, order_id: str, credential: str | None, **body: Any) -> Any:
    headers = {} if credential is None else bearer(credential)
    payload = {"decision": "approve"} | body
    return client.post(f"/api/orders/{order_id}/review", json=payload, headers=headers)


def test_a_reviewer_approves_an_order_on_hold(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    order = _on_hold(client, orders)
    apply_reply(orders, InventoryReserved(order_id=order["order_id"]))
    apply_reply(orders, authorization(order))

    response = _review(client, order["order_id"], operator)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    assert response.json()["fraud"] == "approved"


def test_a_reviewer_rejects_an_order_on_hold(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    order = _on_hold(client, orders)

    response = _review(client, order["order_id"], operator, decision="reject", reason="stolen card")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "stolen card"


def test_the_review_records_the_operator_of_the_credential_not_a_name_in_the_body(
    client: TestClient, orders: bootstrap.Orders, engine: Engine, operator: str
) -> None:
    approved, rejected = _on_hold(client, orders), _on_hold(client, orders)

    _review(client, approved["order_id"], operator, reviewer="mallory")
    _review(client, rejected["order_id"], operator, decision="reject", reviewer="mallory")

    store = SqlEventStore(engine)
    for order, decided in ((approved, "OrderReviewApproved"), (rejected, "OrderReviewRejected")):
        [review] = [e for e in store.read_stream(order["order_id"]) if e.type == decided]
        assert review.payload["reviewer"] == OPERATOR
        timeline = client.get(f"/api/orders/{order['order_id']}/events", headers=bearer(operator))
        [shown] = [e for e in timeline.json()["events"] if e["type"] == decided]
        assert shown["payload"]["reviewer"] == OPERATOR
        assert "mallory" not in timeline.text


def test_review_without_an_operator_credential_is_401(
    client: TestClient, engine: Engine, writes: Any, orders: bootstrap.Orders
) -> None:
    order = _on_hold(client, orders)
    before = mark_now(writes, engine)
    response = _review(client, order["order_id"], None)
    problem = expect_problem(response, 401, "Operator credential missing")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


@pytest.mark.parametrize("credential", ["not-an-operator-credential", "the order's own token"])
def test_review_with_a_credential_that_is_no_operators_is_401(
    client: TestClient, engine: Engine, writes: Any, orders: bootstrap.Orders, credential: str
) -> None:
    order = _on_hold(client, orders)
    before = mark_now(writes, engine)
    sent = order["access_token"] if credential == "the order's own token" else credential
    response = _review(client, order["order_id"], sent)
    expect_problem(response, 401, "Operator credential wrong")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert before.mentioning(order["order_id"]) == []
    current = client.get(f"/api/orders/{order['order_id']}", headers=customer_of(order))
    assert current.json()["status"] == "on_hold"


def test_review_of_an_order_not_on_hold_is_a_conflict(
    client: TestClient, engine: Engine, writes: Any, operator: str
) -> None:
    order = place(client)
    before = mark_now(writes, engine)
    problem = expect_problem(
        _review(client, order["order_id"], operator), 409, "Invalid transition"
    )
    assert "not on hold for review" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_review_needs_a_decision(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    order = _on_hold(client, orders)
    problem = expect_problem(
        _review(client, order["order_id"], operator, decision="maybe"),
        422,
        "Invalid request",
    )
    assert problem["errors"][0]["field"] == "decision"


def test_review_of_an_unknown_order_is_404(client: TestClient, operator: str) -> None:
    expect_problem(_review(client, str(uuid.uuid4()), operator), 404, "Unknown order")
