"""``POST /api/orders`` on a real database: pricing, every refusal (and that a refused request
wrote nothing), idempotency keys."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.tables import outbox_table
from services.orders.tests.api.order_requests import (
    expect_problem,
    new_email,
    order_body,
    place,
)

pytestmark = pytest.mark.integration


def test_placing_prices_lines_from_the_catalogue_and_queues_the_messages(
    client: TestClient, engine: Engine
) -> None:
    body = order_body()
    response = client.post("/api/orders", json=body)

    assert response.status_code == 201, response.text
    order = response.json()
    uuid.UUID(order["order_id"], version=4)
    assert response.headers["location"] == f"/api/orders/{order['order_id']}"
    assert response.headers["cache-control"] == "no-store"  # it carries the access token
    assert order["status"] == "awaiting_replies"
    assert order["customer_email"] == body["customer_email"]
    assert order["total"] == {"amount": 2 * 1299 + 3900, "currency": "EUR"}
    assert order["item_count"] == 3
    assert [line["unit_price"]["amount"] for line in order["lines"]] == [1299, 3900]
    with engine.connect() as conn:
        outbox = conn.execute(
            select(outbox_table.c.destination, outbox_table.c.group_id, outbox_table.c.message)
            .where(outbox_table.c.message["correlation_id"].as_string() == order["order_id"])
            .order_by(outbox_table.c.position)
        ).all()
    assert sorted((row.destination, row.message["type"]) for row in outbox) == [
        ("bus", "OrderPlaced"),
        ("fifo", "AuthorizePayment"),
        ("sns", "OrderPlaced"),
    ]
    assert {row.group_id for row in outbox if row.destination == "fifo"} == {order["order_id"]}


def test_the_currency_defaults_to_the_services_and_prices_follow_it(client: TestClient) -> None:
    body = order_body()
    del body["currency"]
    assert client.post("/api/orders", json=body).json()["total"]["currency"] == "EUR"

    usd = place(client, currency="USD", lines=[{"sku": "MUG-001", "quantity": 1}])
    assert usd["total"] == {"amount": 1399, "currency": "USD"}


def test_malformed_json_is_refused_and_nothing_is_written(client: TestClient, writes: Any) -> None:
    email = new_email()
    response = client.post(
        "/api/orders",
        content=f'{{"customer_email": "{email}", "lines": [',
        headers={"content-type": "application/json"},
    )
    problem = expect_problem(response, 400, "Malformed JSON")
    assert "not valid JSON" in problem["detail"]
    assert writes.mentioning(email) == []


def test_a_body_not_sent_as_json_is_refused(client: TestClient, writes: Any) -> None:
    body = order_body()
    response = client.post(
        "/api/orders", content=json.dumps(body), headers={"content-type": "text/plain"}
    )
    problem = expect_problem(response, 415, "Unsupported media type")
    assert "Content-Type: application/json" in problem["detail"]
    assert writes.mentioning(body["customer_email"]) == []


def test_a_missing_body_is_refused(client: TestClient) -> None:
    problem = expect_problem(client.post("/api/orders"), 422, "Invalid request")
    assert problem["errors"] == [{"field": "body", "message": "Field required"}]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"lines": [{"sku": "MUG-001", "quantity": "two"}]}, "lines.0.quantity", "integer"),
        ({"lines": [{"sku": "MUG-001", "quantity": 1.5}]}, "lines.0.quantity", "integer"),
        ({"customer_email": 42}, "customer_email", "string"),
        ({"lines": "MUG-001"}, "lines", "list"),
        ({"lines": []}, "lines", "at least 1 item"),
        ({"payment_token": None}, "payment_token", "string"),
        (
            {"lines": [{"sku": "MUG-001", "quantity": 1, "unit_price": 1}]},
            "lines.0.unit_price",
            "Extra inputs are not permitted",
        ),
    ],
)
def test_wrong_types_are_refused_naming_the_field(
    client: TestClient, writes: Any, change: dict[str, Any], field: str, message: str
) -> None:
    body = order_body(**change)
    problem = expect_problem(client.post("/api/orders", json=body), 422, "Invalid request")
    assert any(
        error["field"] == field and message in error["message"] for error in problem["errors"]
    ), problem
    assert field in problem["detail"]
    marker = body["customer_email"] if "customer_email" not in change else body["payment_token"]
    assert writes.mentioning(marker) == []


@pytest.mark.parametrize("quantity", [-1, 0])
def test_quantities_must_be_positive(client: TestClient, writes: Any, quantity: int) -> None:
    body = order_body(lines=[{"sku": "MUG-001", "quantity": quantity}])
    problem = expect_problem(client.post("/api/orders", json=body), 422, "Invalid request")
    assert problem["errors"] == [
        {"field": "lines.0.quantity", "message": "Input should be greater than 0"}
    ]
    assert writes.mentioning(body["customer_email"]) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lines": [{"sku": "NOPE-999", "quantity": 1}]}, "item 1: unknown sku 'NOPE-999'"),
        ({"currency": "XYZ"}, "currency 'XYZ' is not a known ISO 4217 code"),
        ({"currency": "JPY"}, "item 1: 'MUG-001' is priced in EUR, not JPY"),
        ({"shipping_country": "XX"}, "shipping country 'XX' is not an ISO 3166-1 alpha-2 code"),
        ({"customer_email": "not-an-email"}, "customer email 'not-an-email' is not a valid"),
        ({"payment_token": "tok approve!"}, "payment token 'tok approve!' must be"),
    ],
)
def test_business_rules_are_refused_with_what_is_wrong(
    client: TestClient, writes: Any, change: dict[str, Any], message: str
) -> None:
    body = order_body(**change)
    problem = expect_problem(client.post("/api/orders", json=body), 422, "Invalid order")
    assert message in problem["detail"]
    assert any(message in error["message"] for error in problem["errors"])
    assert writes.mentioning(body["customer_email"]) == []
    assert writes.mentioning(body["payment_token"]) == []


def test_a_body_over_256_kb_is_refused_by_its_length(client: TestClient, writes: Any) -> None:
    body = order_body(note="x" * (256 * 1024))
    problem = expect_problem(client.post("/api/orders", json=body), 413, "Request body too large")
    assert "Content-Length" in problem["detail"]
    assert "262144 bytes" in problem["detail"]
    assert writes.mentioning(body["customer_email"]) == []


def test_a_streamed_body_over_256_kb_is_refused_while_reading(
    client: TestClient, writes: Any
) -> None:
    email = new_email()

    def chunks() -> Iterator[bytes]:
        yield f'{{"customer_email": "{email}", "note": "'.encode()
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        "/api/orders", content=chunks(), headers={"content-type": "application/json"}
    )
    problem = expect_problem(response, 413, "Request body too large")
    assert "content-length" not in response.request.headers
    assert problem["detail"].startswith("the body exceeds the limit (")
    assert writes.mentioning(email) == []


def test_a_body_just_under_the_limit_reaches_validation(client: TestClient) -> None:
    body = order_body()
    body["lines"] = [{"sku": "MUG-001", "quantity": 1}] * 5000  # about 190 KB
    response = client.post("/api/orders", json=body)
    assert len(response.request.content) < 256 * 1024
    expect_problem(response, 422, "Invalid request")  # too many lines, not too large


# --- idempotency ---------------------------------------------------------------------------


def test_a_replayed_key_with_the_same_body_returns_the_first_response(
    client: TestClient, engine: Engine
) -> None:
    key = f"key-{uuid.uuid4()}"
    body = order_body()
    first = client.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    reordered = dict(reversed(list(body.items())))
    again = client.post("/api/orders", json=reordered, headers={"Idempotency-Key": key})

    assert first.status_code == again.status_code == 201
    token = first.json()["access_token"]
    assert isinstance(token, str) and len(token) == 43
    assert again.json()["access_token"] is None
    assert "replay" in again.json()["access_note"]
    assert "shown only now" in first.json()["access_note"]
    without_access = {"access_token", "access_note"}
    assert {k: v for k, v in again.json().items() if k not in without_access} == {
        k: v for k, v in first.json().items() if k not in without_access
    }
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    store = SqlEventStore(engine)
    assert [e.type for e in store.read_stream(first.json()["order_id"])] == ["OrderPlaced"]


def test_a_replayed_key_with_another_body_is_refused(client: TestClient, writes: Any) -> None:
    key = f"key-{uuid.uuid4()}"
    first = order_body()
    placed = client.post("/api/orders", json=first, headers={"Idempotency-Key": key})
    assert placed.status_code == 201
    other = order_body()
    response = client.post("/api/orders", json=other, headers={"Idempotency-Key": key})

    problem = expect_problem(response, 422, "Idempotency key reused")
    assert key in problem["detail"]
    assert writes.mentioning(other["customer_email"]) == []
    assert len(writes.mentioning(first["customer_email"])) == 4  # the event, 3 outbox rows
    assert len(writes.mentioning(placed.json()["order_id"])) == 6  # ... the key, the digest


def test_a_failed_request_does_not_use_up_its_key(client: TestClient) -> None:
    key = f"key-{uuid.uuid4()}"
    bad = order_body(lines=[{"sku": "NOPE-999", "quantity": 1}])
    expect_problem(
        client.post("/api/orders", json=bad, headers={"Idempotency-Key": key}), 422, "Invalid order"
    )
    good = client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
    assert good.status_code == 201


def test_a_malformed_idempotency_key_is_refused(client: TestClient, writes: Any) -> None:
    body = order_body()
    response = client.post("/api/orders", json=body, headers={"Idempotency-Key": "k" * 201})
    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["header.idempotency-key"]
    assert writes.mentioning(body["customer_email"]) == []
