"""What clients send: every text refuses control characters, every parameter that reaches SQL is
checked against its format first (404 or 422, never a 500, on SQLite and PostgreSQL alike),
nothing is written on a refusal, and the OpenAPI document declares the formats the server
enforces."""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.orders import bootstrap
from services.orders.tests.api.order_requests import (
    apply_reply,
    bearer,
    customer_of,
    expect_problem,
    order_body,
    place,
)
from shared.contracts import OrderFlaggedForReview

pytestmark = pytest.mark.integration

CONTROL_CHARACTERS = ["\u0000", "\n", "\u001f", "\u007f", "\u0085"]


def test_the_api_tests_run_on_the_database_test_database_url_names(engine: Engine) -> None:
    expected = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    assert engine.dialect.name == expected


def test_an_e_mail_with_a_nul_character_is_refused_naming_the_field(
    client: TestClient, writes: Any
) -> None:
    body = order_body(customer_email="a\u0000b@example.com")

    problem = expect_problem(client.post("/api/orders", json=body), 422, "Invalid request")

    assert [error["field"] for error in problem["errors"]] == ["customer_email"]
    assert "control characters" in problem["errors"][0]["message"]
    assert writes.mentioning(body["payment_token"]) == []


@pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=repr)
@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("customer_email", lambda c: {"customer_email": f"ada{c}@example.com"}),
        ("shipping_country", lambda c: {"shipping_country": f"D{c}"}),
        ("currency", lambda c: {"currency": f"EU{c}"}),
        ("lines.0.sku", lambda c: {"lines": [{"sku": f"MUG{c}001", "quantity": 1}]}),
        ("payment_token", lambda c: {"payment_token": f"tok{c}approve"}),
    ],
)
def test_a_control_character_in_any_text_of_an_order_is_refused(
    client: TestClient, writes: Any, field: str, change: Any, character: str
) -> None:
    body = order_body(**change(character))

    problem = expect_problem(client.post("/api/orders", json=body), 422, "Invalid request")

    assert [error["field"] for error in problem["errors"]] == [field]
    assert field in problem["detail"]
    marker = body["payment_token"] if field == "customer_email" else body["customer_email"]
    assert writes.mentioning(marker) == []


def test_a_control_character_in_a_cancel_reason_is_refused(client: TestClient, writes: Any) -> None:
    order = place(client)
    marker = f"reason-{uuid.uuid4().hex}"

    response = client.post(
        f"/api/orders/{order['order_id']}/cancel",
        json={"reason": f"{marker}\u0000"},
        headers=customer_of(order),
    )

    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["reason"]
    assert writes.mentioning(marker) == []
    now = client.get(f"/api/orders/{order['order_id']}", headers=customer_of(order))
    assert now.json()["status"] == "awaiting_replies"


@pytest.mark.parametrize("field", ["reviewer", "reason"])
def test_a_control_character_in_a_review_is_refused(
    client: TestClient, writes: Any, orders: bootstrap.Orders, operator: str, field: str
) -> None:
    order = place(client)
    apply_reply(orders, OrderFlaggedForReview(order_id=order["order_id"], score=90))
    marker = f"review-{uuid.uuid4().hex}"
    review = {"decision": "reject", "reviewer": "ops", "reason": "fraud"} | {field: f"{marker}\x00"}

    response = client.post(
        f"/api/orders/{order['order_id']}/review", json=review, headers=bearer(operator)
    )

    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == [field]
    assert writes.mentioning(marker) == []
    now = client.get(f"/api/orders/{order['order_id']}", headers=bearer(operator))
    assert now.json()["status"] == "on_hold"


MALFORMED_ORDER_IDS = [
    "%00",
    "a%00b",
    "not-an-order",
    "%20",
    str(uuid.UUID(int=7)).upper(),
    f"{uuid.UUID(int=8)}0",  # one character too long
    "x" * 300,
    "%C3%A9",
]


@pytest.mark.parametrize("order_id", MALFORMED_ORDER_IDS)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("GET", "/events"), ("POST", "/cancel"), ("POST", "/review")],
)
def test_a_malformed_order_id_is_an_unknown_order(
    client: TestClient, writes: Any, operator: str, order_id: str, method: str, suffix: str
) -> None:
    marker = f"reason-{uuid.uuid4().hex}"
    body = {"decision": "reject", "reviewer": "ops", "reason": marker}
    body = body if suffix == "/review" else {"reason": marker}

    response = client.request(
        method,
        f"/api/orders/{order_id}{suffix}",
        json=None if method == "GET" else body,
        headers=bearer(operator),
    )

    problem = expect_problem(response, 404, "Unknown order")
    assert problem["detail"].startswith("no order with id ")
    assert writes.mentioning(marker) == []


def test_a_malformed_id_and_an_unknown_id_answer_alike(client: TestClient) -> None:
    unknown = client.get(f"/api/orders/{uuid.uuid4()}").json()
    malformed = client.get("/api/orders/%00").json()
    assert set(unknown) == set(malformed)
    assert {key: unknown[key] for key in ("type", "title", "status")} == {
        key: malformed[key] for key in ("type", "title", "status")
    }


MALFORMED_CURSORS = ["", "\u0000", "abc", "1.", ".x", "1x.y", f"{'9' * 18}.x", "1.a b"]


@pytest.mark.parametrize("cursor", [*MALFORMED_CURSORS, f"1.{'x' * 201}", "1.\u00e9"], ids=repr)
def test_a_malformed_cursor_is_refused(client: TestClient, operator: str, cursor: str) -> None:
    response = client.get("/api/orders", params={"cursor": cursor}, headers=bearer(operator))
    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["query.cursor"]


@pytest.mark.parametrize(
    "params",
    [{"status": "lost"}, {"status": ""}, {"limit": 0}, {"limit": 101}, {"limit": "ten"}],
    ids=repr,
)
def test_other_malformed_list_parameters_are_refused(
    client: TestClient, operator: str, params: dict[str, Any]
) -> None:
    response = client.get("/api/orders", params=params, headers=bearer(operator))
    problem = expect_problem(response, 422, "Invalid request")
    [name] = params
    assert [error["field"] for error in problem["errors"]] == [f"query.{name}"]


@pytest.mark.parametrize("cursor", ["0.a", f"{'9' * 17}.~", "1700000000000000.zzz"])
def test_every_cursor_of_the_declared_format_is_a_position(
    client: TestClient, operator: str, cursor: str
) -> None:
    response = client.get(
        "/api/orders", params={"cursor": cursor, "limit": 1}, headers=bearer(operator)
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("if_match", ["", "v1", "1", '"x"', '"1', 'W/"1', '"1234567890"', "*"])
def test_a_malformed_if_match_is_refused_and_changes_nothing(
    client: TestClient, if_match: str
) -> None:
    order = place(client)

    response = client.post(
        f"/api/orders/{order['order_id']}/cancel",
        headers={"If-Match": if_match, **customer_of(order)},
    )

    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["header.if-match"]
    now = client.get(f"/api/orders/{order['order_id']}", headers=customer_of(order))
    assert now.json()["status"] == "awaiting_replies"


def test_a_weak_version_etag_is_a_version(client: TestClient) -> None:
    order = place(client)
    response = client.post(
        f"/api/orders/{order['order_id']}/cancel",
        headers={"If-Match": 'W/"1"', **customer_of(order)},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("key", ["", "a b", "k" * 201, "tab\there"], ids=repr)
def test_a_malformed_idempotency_key_is_refused_and_writes_nothing(
    client: TestClient, writes: Any, key: str
) -> None:
    body = order_body()
    response = client.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["header.idempotency-key"]
    assert writes.mentioning(body["customer_email"]) == []


def test_the_schema_declares_the_formats_the_server_enforces(
    client: TestClient, operator: str
) -> None:
    spec = client.get("/api/openapi.json").json()
    key_sent = f"!{uuid.uuid4().hex}~"  # the edges of visible ASCII
    placed = client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key_sent})
    assert placed.status_code == 201, placed.text
    place(client)
    page = client.get("/api/orders", params={"limit": 1}, headers=bearer(operator)).json()
    etag = client.get(placed.headers["location"], headers=customer_of(placed.json())).headers[
        "etag"
    ]

    order_id = _parameter(spec, "/api/orders/{order_id}", "get", "order_id")
    assert re.fullmatch(order_id["pattern"], placed.json()["order_id"])
    assert not re.search(order_id["pattern"], "\x00")

    cursor = _parameter(spec, "/api/orders", "get", "cursor")
    assert cursor["minLength"] >= 1
    if page["next_cursor"] is not None:  # the projector may not have run yet
        assert re.search(cursor["pattern"], page["next_cursor"])
    assert re.search(cursor["pattern"], f"{'9' * 17}.{'x' * 200}")
    assert len(f"{'9' * 17}.{'x' * 200}") == cursor["maxLength"]

    if_match = _parameter(spec, "/api/orders/{order_id}/cancel", "post", "if-match")
    assert re.search(if_match["pattern"], etag)
    assert not re.search(if_match["pattern"], "v1")

    key = _parameter(spec, "/api/orders", "post", "idempotency-key")
    assert (key["minLength"], key["maxLength"]) == (1, 200)
    assert re.search(key["pattern"], key_sent) and not re.search(key["pattern"], "a b")

    for name in ("PlaceOrderIn", "LineIn", "CancelIn", "ReviewIn"):
        model = spec["components"]["schemas"][name]
        for field, schema in model["properties"].items():
            for branch in schema.get("anyOf", [schema]):
                if branch.get("type") == "string" and "enum" not in branch:
                    assert not re.search(branch["pattern"], "a\x00b"), (name, field)
                    text = schema.get("examples", ["ada@example.com"])[0]
                    assert re.search(branch["pattern"], text), (name, field)


def _parameter(spec: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    """The string schema of a parameter (the non-null branch of an optional one)."""
    [parameter] = [p for p in spec["paths"][path][method]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = parameter["schema"]
    strings = [branch for branch in schema.get("anyOf", [schema]) if branch.get("type") == "string"]
    string: dict[str, Any] = strings[0]
    return string


def test_a_lone_surrogate_is_refused_naming_the_field(client: TestClient, writes: Any) -> None:
    body = order_body()
    raw = json.dumps(body).replace(body["customer_email"], "a\\ud800b@example.com")

    response = client.post("/api/orders", content=raw, headers={"content-type": "application/json"})

    problem = expect_problem(response, 422, "Invalid request")
    assert [error["field"] for error in problem["errors"]] == ["customer_email"]
    assert writes.mentioning(body["payment_token"]) == []
