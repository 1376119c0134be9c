"""``/api/ops/outbox/parked``: an operator sees the outbox records the relay parked, and
retries or discards one; each action is in the operations log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.orders import bootstrap
from services.orders.adapters.operations_log import OperatorAction
from services.orders.ports import NewEvent, OutboxMessage, OutboxRecord
from services.orders.tests.api.order_requests import bearer, expect_problem

pytestmark = pytest.mark.integration

PATH = "/api/ops/outbox/parked"


def park_one(orders: bootstrap.Orders) -> tuple[OutboxRecord, str]:
    """An order with two records to a destination of this test alone, the first parked; the
    record and the destination (the database may be shared)."""
    order_id, queue = str(uuid.uuid4()), f"sns-{uuid.uuid4().hex[:12]}"
    events = [NewEvent("OrderNoted", {}) for _ in range(2)]
    orders.store.append(
        order_id,
        0,
        events,
        [
            OutboxMessage(
                queue, {"correlation_id": order_id, "type": "OrderNoted", "n": n}, None, e.event_id
            )
            for n, e in enumerate(events, start=1)
        ],
    )
    first = orders.outbox.claim([queue], 1, timedelta(seconds=30))[queue][0]
    orders.outbox.park(first.position, "InvalidParameter: Message too long")
    return first, queue


def mine(listed: dict[str, Any], record: OutboxRecord) -> list[dict[str, Any]]:
    return [r for r in listed["records"] if r["position"] == record.position]


def logged(orders: bootstrap.Orders, record: OutboxRecord) -> list[OperatorAction]:
    """The operations log's entries about ``record``, newest first (``GET /api/ops/log``
    shows the same where the stack's operations view is mounted)."""
    return [e for e in orders.operations_log.recent(200) if e.target == f"outbox/{record.position}"]


def test_an_operator_sees_the_parked_records(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    record, queue = park_one(orders)

    response = client.get(PATH, params={"limit": 1000}, headers=bearer(operator))

    assert response.status_code == 200, response.text
    [shown] = mine(response.json(), record)
    assert shown["destination"] == queue
    assert shown["stream"] == record.stream
    assert shown["type"] == "OrderNoted"
    assert shown["event_id"] == str(record.event_id)
    assert shown["reason"] == "InvalidParameter: Message too long"
    assert response.json()["total"] >= 1


def test_a_retried_record_leaves_the_list_and_is_claimed_first_again(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    record, queue = park_one(orders)

    response = client.post(f"{PATH}/{record.position}/retry", headers=bearer(operator))

    assert response.status_code == 200, response.text
    assert response.json()["position"] == record.position
    listed = client.get(PATH, params={"limit": 1000}, headers=bearer(operator)).json()
    assert mine(listed, record) == []
    claimed = orders.outbox.claim([queue], 10, timedelta(seconds=30))[queue]
    assert [r.body["n"] for r in claimed] == [1, 2]
    [entry] = logged(orders, record)
    assert (entry.operator, entry.action) == ("alice", "outbox-retry")
    assert entry.outcome.startswith("retried:")


def test_a_discarded_record_is_never_published_and_its_order_goes_on(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    record, queue = park_one(orders)

    response = client.post(f"{PATH}/{record.position}/discard", headers=bearer(operator))

    assert response.status_code == 200, response.text
    claimed = orders.outbox.claim([queue], 10, timedelta(seconds=30))[queue]
    assert [r.body["n"] for r in claimed] == [2]
    assert orders.outbox.status([queue]).destinations[queue].backlog == 1
    [entry] = logged(orders, record)
    assert entry.action == "outbox-discard" and entry.outcome.startswith("discarded:")


def test_a_record_that_is_not_parked_is_a_404_and_logged(
    client: TestClient, orders: bootstrap.Orders, operator: str
) -> None:
    record, _ = park_one(orders)
    client.post(f"{PATH}/{record.position}/discard", headers=bearer(operator))

    again = client.post(f"{PATH}/{record.position}/retry", headers=bearer(operator))

    expect_problem(again, 404, "No parked record")
    assert [e.action for e in logged(orders, record)] == [
        "outbox-retry",
        "outbox-discard",
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", PATH), ("POST", f"{PATH}/1/retry"), ("POST", f"{PATH}/1/discard")],
)
def test_every_route_needs_an_operator_credential(
    client: TestClient, method: str, path: str
) -> None:
    expect_problem(client.request(method, path), 401, "Operator credential missing")
