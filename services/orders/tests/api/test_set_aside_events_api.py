"""``GET /api/ops/set-aside-events``: an operator sees the events a read model set aside."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, insert, select

from services.orders import bootstrap
from services.orders.adapters.tables import (
    events_table,
    projection_positions_table,
    projection_set_aside_table,
)
from services.orders.ports import NewEvent
from services.orders.tests.api.order_requests import bearer, expect_problem

pytestmark = pytest.mark.integration

PATH = "/api/ops/set-aside-events"


@pytest.fixture
def projection(orders: bootstrap.Orders) -> Iterator[str]:
    """A projection of this test alone, from the head of the log; its set-aside records go
    with it (the database may be shared)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    with orders.engine.begin() as conn:
        head = conn.execute(select(func.coalesce(func.max(events_table.c.position), 0))).scalar()
        conn.execute(
            insert(projection_positions_table).values(
                name=name, position=head, updated_at=datetime.now(UTC)
            )
        )
    yield name
    with orders.engine.begin() as conn:
        conn.execute(
            delete(projection_set_aside_table).where(
                projection_set_aside_table.c.projection == name
            )
        )
        conn.execute(
            delete(projection_positions_table).where(projection_positions_table.c.name == name)
        )


def _set_aside_one(orders: bootstrap.Orders, projection: str) -> str:
    """An OrderPlaced whose total no summary row can hold, projected (and set aside)."""
    order_id = orders.service.new_order_id()
    line = {"sku": "MUG-001", "quantity": 1, "unit_price": {"amount": 1, "currency": "EUR"}}
    payload = {
        "order_id": order_id,
        "customer_email": "ada@example.com",
        "shipping_country": "DE",
        "lines": [line],
        "total": {"amount": 2**63, "currency": "EUR"},
    }
    orders.store.append(order_id, 0, [NewEvent(type="OrderPlaced", payload=payload)])
    orders.summaries.catch_up(name=projection, gap_timeout=timedelta(0))
    return order_id


def test_an_operator_sees_the_set_aside_events(
    client: TestClient, orders: bootstrap.Orders, operator: str, projection: str
) -> None:
    order_id = _set_aside_one(orders, projection)

    response = client.get(PATH, params={"limit": 1000}, headers=bearer(operator))

    assert response.status_code == 200, response.text
    listed = response.json()
    [mine] = [event for event in listed["events"] if event["projection"] == projection]
    [recorded] = orders.store.read_stream(order_id)
    assert mine["position"] == recorded.position
    assert mine["event_id"] == str(recorded.event_id)
    assert (mine["stream_id"], mine["type"], mine["attempts"]) == (order_id, "OrderPlaced", 1)
    assert any(word in mine["error"] for word in ("out of range", "too large")), mine
    assert listed["total"] >= 1


def test_the_list_is_limited(
    client: TestClient, orders: bootstrap.Orders, operator: str, projection: str
) -> None:
    _set_aside_one(orders, projection)
    _set_aside_one(orders, projection)

    listed = client.get(PATH, params={"limit": 1}, headers=bearer(operator)).json()

    assert len(listed["events"]) == 1
    assert listed["total"] >= 2


@pytest.mark.parametrize("limit", [0, 1001, "all"])
def test_a_bad_limit_is_refused(client: TestClient, operator: str, limit: object) -> None:
    problem = expect_problem(
        client.get(PATH, params={"limit": limit}, headers=bearer(operator)), 422, "Invalid request"
    )
    assert [error["field"] for error in problem["errors"]] == ["query.limit"]


def test_only_operators_see_them(client: TestClient) -> None:
    expect_problem(client.get(PATH), 401, "Operator credential missing")
    wrong = client.get(PATH, headers={"Authorization": "Bearer not-a-credential"})
    expect_problem(wrong, 401, "Operator credential wrong")
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
