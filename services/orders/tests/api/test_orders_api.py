"""The orders API on a real database: every endpoint and every refusal, and that a refused
request wrote nothing."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from services.orders.adapters.event_store import SqlEventStore, outbox_table
from services.orders.api import create_app
from services.orders.application import OrderService
from services.orders.projections import catch_up
from shared.contracts import (
    FraudCheckPassed,
    InventoryReserved,
    Money,
    OrderFlaggedForReview,
    PaymentAuthorized,
    envelope_for,
)

from .conftest import OPERATOR_TOKEN

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


def _email() -> str:
    return f"buyer-{uuid.uuid4().hex[:12]}@example.com"


def _order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_email": _email(),
        "shipping_country": "DE",
        "currency": "EUR",
        "lines": [{"sku": "MUG-001", "quantity": 2}, {"sku": "BOOK-003", "quantity": 1}],
        "payment_token": f"tok_{uuid.uuid4().hex[:16]}",  # unique: marks what a test wrote
    }
    body.update(overrides)
    return body


def _problem(response: Any, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"] == title
    assert problem["type"].startswith("/api/docs#problem-")
    return problem


def _placed(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/orders", json=_order(**overrides))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def _reply(engine: Engine, payload: Any) -> None:
    OrderService.for_engine(engine).apply_reply(envelope_for(payload))


def _authorized(order: dict[str, Any]) -> PaymentAuthorized:
    total = order["total"]
    return PaymentAuthorized(
        order_id=order["order_id"],
        authorization_id=f"auth-{order['order_id'][:8]}",
        amount=Money(amount=total["amount"], currency=total["currency"]),
    )


# --- POST /api/orders ----------------------------------------------------------------------


def test_placing_prices_lines_from_the_catalogue_and_queues_the_messages(
    client: TestClient, engine: Engine
) -> None:
    body = _order()
    response = client.post("/api/orders", json=body)

    assert response.status_code == 201, response.text
    order = response.json()
    uuid.UUID(order["order_id"], version=4)
    assert response.headers["location"] == f"/api/orders/{order['order_id']}"
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
    body = _order()
    del body["currency"]
    assert client.post("/api/orders", json=body).json()["total"]["currency"] == "EUR"

    usd = _placed(client, currency="USD", lines=[{"sku": "MUG-001", "quantity": 1}])
    assert usd["total"] == {"amount": 1399, "currency": "USD"}


def test_malformed_json_is_refused_and_nothing_is_written(client: TestClient, writes: Any) -> None:
    email = _email()
    response = client.post(
        "/api/orders",
        content=f'{{"customer_email": "{email}", "lines": [',
        headers={"content-type": "application/json"},
    )
    problem = _problem(response, 400, "Malformed JSON")
    assert "not valid JSON" in problem["detail"]
    assert writes.mentioning(email) == []


def test_a_body_not_sent_as_json_is_refused(client: TestClient, writes: Any) -> None:
    body = _order()
    response = client.post(
        "/api/orders", content=json.dumps(body), headers={"content-type": "text/plain"}
    )
    problem = _problem(response, 415, "Unsupported media type")
    assert "Content-Type: application/json" in problem["detail"]
    assert writes.mentioning(body["customer_email"]) == []


def test_a_missing_body_is_refused(client: TestClient) -> None:
    problem = _problem(client.post("/api/orders"), 422, "Invalid request")
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
    body = _order(**change)
    problem = _problem(client.post("/api/orders", json=body), 422, "Invalid request")
    assert any(
        error["field"] == field and message in error["message"] for error in problem["errors"]
    ), problem
    assert field in problem["detail"]
    marker = body["customer_email"] if "customer_email" not in change else body["payment_token"]
    assert writes.mentioning(marker) == []


@pytest.mark.parametrize("quantity", [-1, 0])
def test_quantities_must_be_positive(client: TestClient, writes: Any, quantity: int) -> None:
    body = _order(lines=[{"sku": "MUG-001", "quantity": quantity}])
    problem = _problem(client.post("/api/orders", json=body), 422, "Invalid request")
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
    body = _order(**change)
    problem = _problem(client.post("/api/orders", json=body), 422, "Invalid order")
    assert message in problem["detail"]
    assert any(message in error["message"] for error in problem["errors"])
    assert writes.mentioning(body["customer_email"]) == []
    assert writes.mentioning(body["payment_token"]) == []


def test_a_body_over_256_kb_is_refused_by_its_length(client: TestClient, writes: Any) -> None:
    body = _order(note="x" * (256 * 1024))
    problem = _problem(client.post("/api/orders", json=body), 413, "Request body too large")
    assert "Content-Length" in problem["detail"]
    assert "262144 bytes" in problem["detail"]
    assert writes.mentioning(body["customer_email"]) == []


def test_a_streamed_body_over_256_kb_is_refused_while_reading(
    client: TestClient, writes: Any
) -> None:
    email = _email()

    def chunks() -> Iterator[bytes]:
        yield f'{{"customer_email": "{email}", "note": "'.encode()
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        "/api/orders", content=chunks(), headers={"content-type": "application/json"}
    )
    problem = _problem(response, 413, "Request body too large")
    assert "content-length" not in response.request.headers
    assert problem["detail"].startswith("the body exceeds the limit (")
    assert writes.mentioning(email) == []


def test_a_body_just_under_the_limit_reaches_validation(client: TestClient) -> None:
    body = _order()
    body["lines"] = [{"sku": "MUG-001", "quantity": 1}] * 5000  # about 190 KB
    response = client.post("/api/orders", json=body)
    assert len(response.request.content) < 256 * 1024
    _problem(response, 422, "Invalid request")  # too many lines, not too large


# --- idempotency ---------------------------------------------------------------------------


def test_a_replayed_key_with_the_same_body_returns_the_first_response(
    client: TestClient, engine: Engine
) -> None:
    key = f"key-{uuid.uuid4()}"
    body = _order()
    first = client.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    reordered = dict(reversed(list(body.items())))
    again = client.post("/api/orders", json=reordered, headers={"Idempotency-Key": key})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    store = SqlEventStore(engine)
    assert [e.type for e in store.read_stream(first.json()["order_id"])] == ["OrderPlaced"]


def test_a_replayed_key_with_another_body_is_refused(client: TestClient, writes: Any) -> None:
    key = f"key-{uuid.uuid4()}"
    first = _order()
    assert (
        client.post("/api/orders", json=first, headers={"Idempotency-Key": key}).status_code == 201
    )
    other = _order()
    response = client.post("/api/orders", json=other, headers={"Idempotency-Key": key})

    problem = _problem(response, 422, "Idempotency key reused")
    assert key in problem["detail"]
    assert writes.mentioning(other["customer_email"]) == []
    assert len(writes.mentioning(first["customer_email"])) == 5  # event, 3 outbox rows, key


def test_a_failed_request_does_not_use_up_its_key(client: TestClient) -> None:
    key = f"key-{uuid.uuid4()}"
    bad = _order(lines=[{"sku": "NOPE-999", "quantity": 1}])
    _problem(
        client.post("/api/orders", json=bad, headers={"Idempotency-Key": key}), 422, "Invalid order"
    )
    good = client.post("/api/orders", json=_order(), headers={"Idempotency-Key": key})
    assert good.status_code == 201


def test_a_malformed_idempotency_key_is_refused(client: TestClient, writes: Any) -> None:
    body = _order()
    response = client.post("/api/orders", json=body, headers={"Idempotency-Key": "k" * 201})
    assert "Idempotency-Key" in _problem(response, 400, "Malformed request")["detail"]
    assert writes.mentioning(body["customer_email"]) == []


# --- reading -------------------------------------------------------------------------------


def test_an_order_is_read_from_its_stream(client: TestClient, engine: Engine) -> None:
    order = _placed(client)
    _reply(engine, InventoryReserved(order_id=order["order_id"]))

    response = client.get(f"/api/orders/{order['order_id']}")

    assert response.status_code == 200
    assert response.json()["stock"] == "reserved"
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


@pytest.mark.parametrize("suffix", ["", "/events"])
def test_an_unknown_order_is_404(client: TestClient, suffix: str) -> None:
    order_id = str(uuid.uuid4())
    problem = _problem(client.get(f"/api/orders/{order_id}{suffix}"), 404, "Unknown order")
    assert problem["detail"] == f"no order with id {order_id!r}"


def test_the_timeline_lists_every_event_with_its_envelope(
    client: TestClient, engine: Engine
) -> None:
    order = _placed(client)
    reply = envelope_for(InventoryReserved(order_id=order["order_id"]))
    OrderService.for_engine(engine).apply_reply(reply)

    response = client.get(f"/api/orders/{order['order_id']}/events")

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
    client: TestClient, engine: Engine
) -> None:
    mine = [_placed(client)["order_id"] for _ in range(3)]
    OrderService.for_engine(engine).cancel(mine[1])
    catch_up(engine, gap_timeout=timedelta(0))

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(200):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/orders", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["order_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None or set(mine) <= set(seen):
            break
    assert len(seen) == len(set(seen))
    assert [o for o in seen if o in mine] == list(reversed(mine))

    cancelled = client.get("/api/orders", params={"status": "cancelled", "limit": 100}).json()
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
        ({"cursor": "not-a-cursor"}, 400, "Malformed request", "cursor"),
    ],
)
def test_bad_list_parameters_are_refused(
    client: TestClient, params: dict[str, Any], status: int, title: str, words: str
) -> None:
    assert words in _problem(client.get("/api/orders", params=params), status, title)["detail"]


# --- cancel --------------------------------------------------------------------------------


def test_cancelling_records_it_and_again_changes_nothing(
    client: TestClient, engine: Engine
) -> None:
    order = _placed(client)
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
    client: TestClient, engine: Engine, writes: Any
) -> None:
    order = _placed(client)
    for reply in (
        InventoryReserved(order_id=order["order_id"]),
        _authorized(order),
        FraudCheckPassed(order_id=order["order_id"]),
    ):
        _reply(engine, reply)
    before = _mark(writes, engine)

    response = client.post(f"/api/orders/{order['order_id']}/cancel")

    problem = _problem(response, 409, "Invalid transition")
    assert "is confirmed and can no longer be cancelled" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_cancelling_an_unknown_order_is_404(client: TestClient) -> None:
    _problem(client.post(f"/api/orders/{uuid.uuid4()}/cancel"), 404, "Unknown order")


def test_a_stale_if_match_is_a_conflict_and_writes_nothing(
    client: TestClient, engine: Engine, writes: Any
) -> None:
    order = _placed(client)
    _reply(engine, InventoryReserved(order_id=order["order_id"]))
    before = _mark(writes, engine)

    response = client.post(f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": '"1"'})

    problem = _problem(response, 409, "Concurrent change")
    assert "expected version 1, found 2" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []
    current = client.get(f"/api/orders/{order['order_id']}")
    ok = client.post(
        f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": current.headers["etag"]}
    )
    assert ok.json()["status"] == "cancelled"


def test_a_malformed_if_match_is_refused(client: TestClient) -> None:
    order = _placed(client)
    response = client.post(f"/api/orders/{order['order_id']}/cancel", headers={"If-Match": "v1"})
    assert "If-Match" in _problem(response, 400, "Malformed request")["detail"]


# --- review --------------------------------------------------------------------------------


def _on_hold(client: TestClient, engine: Engine) -> dict[str, Any]:
    order = _placed(client)
    _reply(engine, OrderFlaggedForReview(order_id=order["order_id"], score=90, reasons=("amount",)))
    return order


def _review(client: TestClient, order_id: str, token: str | None, **body: Any) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    payload = {"decision": "approve", "reviewer": "ops@example.com"} | body
    return client.post(f"/api/orders/{order_id}/review", json=payload, headers=headers)


def test_a_reviewer_approves_an_order_on_hold(client: TestClient, engine: Engine) -> None:
    order = _on_hold(client, engine)
    _reply(engine, InventoryReserved(order_id=order["order_id"]))
    _reply(engine, _authorized(order))

    response = _review(client, order["order_id"], OPERATOR_TOKEN)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    assert response.json()["fraud"] == "approved"


def test_a_reviewer_rejects_an_order_on_hold(client: TestClient, engine: Engine) -> None:
    order = _on_hold(client, engine)

    response = _review(
        client, order["order_id"], OPERATOR_TOKEN, decision="reject", reason="stolen card"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "stolen card"


def test_review_without_the_operator_token_is_401(
    client: TestClient, engine: Engine, writes: Any
) -> None:
    order = _on_hold(client, engine)
    before = _mark(writes, engine)
    response = _review(client, order["order_id"], None)
    problem = _problem(response, 401, "Operator token missing")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_review_with_a_wrong_operator_token_is_403(
    client: TestClient, engine: Engine, writes: Any
) -> None:
    order = _on_hold(client, engine)
    before = _mark(writes, engine)
    response = _review(client, order["order_id"], "not-the-operator-token")
    _problem(response, 403, "Operator token wrong")
    assert before.mentioning(order["order_id"]) == []
    assert client.get(f"/api/orders/{order['order_id']}").json()["status"] == "on_hold"


def test_review_of_an_order_not_on_hold_is_a_conflict(
    client: TestClient, engine: Engine, writes: Any
) -> None:
    order = _placed(client)
    before = _mark(writes, engine)
    problem = _problem(
        _review(client, order["order_id"], OPERATOR_TOKEN), 409, "Invalid transition"
    )
    assert "not on hold for review" in problem["detail"]
    assert before.mentioning(order["order_id"]) == []


def test_review_needs_a_decision(client: TestClient, engine: Engine) -> None:
    order = _on_hold(client, engine)
    problem = _problem(
        _review(client, order["order_id"], OPERATOR_TOKEN, decision="maybe"),
        422,
        "Invalid request",
    )
    assert problem["errors"][0]["field"] == "decision"


def test_review_of_an_unknown_order_is_404(client: TestClient) -> None:
    _problem(_review(client, str(uuid.uuid4()), OPERATOR_TOKEN), 404, "Unknown order")


# --- the rest ------------------------------------------------------------------------------


def test_unknown_routes_and_methods_answer_problems(client: TestClient) -> None:
    _problem(client.get("/api/nothing-here"), 404, "Not found")
    _problem(client.delete("/api/orders"), 405, "Method not allowed")


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/api/orders",
        "/api/orders/{order_id}",
        "/api/orders/{order_id}/events",
        "/api/orders/{order_id}/cancel",
        "/api/orders/{order_id}/review",
        "/api/health",
    }
    assert "Idempotency-Key" in str(spec["paths"]["/api/orders"]["post"]["parameters"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "cdn" not in docs.text and "https://" not in docs.text
    for asset in re.findall(r'(?:src|href)="(/api/docs-assets/[^"]+)"', docs.text):
        assert client.get(asset).status_code == 200, asset


def _mark(writes: Any, engine: Engine) -> Any:
    """A fresh mark of what is in the store now."""
    return type(writes)(engine)


def test_the_app_projects_summaries_in_the_background(settings: Any) -> None:
    with TestClient(create_app(settings)) as background:
        order_id = _placed(background)["order_id"]
        deadline = time.monotonic() + 15
        listed: list[str] = []
        while order_id not in listed and time.monotonic() < deadline:
            page = background.get("/api/orders", params={"limit": 100}).json()
            listed = [item["order_id"] for item in page["items"]]
            if order_id not in listed:
                time.sleep(0.05)
        assert order_id in listed
