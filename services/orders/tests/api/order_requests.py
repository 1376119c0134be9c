"""What the API tests send and how they check the answers."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.orders import bootstrap
from shared.contracts import Money, PaymentAuthorized, envelope_for

OPERATOR = "alice"
PROBLEM_JSON = "application/problem+json"


def new_email() -> str:
    return f"buyer-{uuid.uuid4().hex[:12]}@example.com"


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_email": new_email(),
        "shipping_country": "DE",
        "currency": "EUR",
        "lines": [{"sku": "MUG-001", "quantity": 2}, {"sku": "BOOK-003", "quantity": 1}],
        "payment_token": f"tok_{uuid.uuid4().hex[:16]}",  # unique: marks what a test wrote
    }
    body.update(overrides)
    return body


def expect_problem(response: Any, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] == title
    assert body["type"].startswith("/api/docs#problem-")
    return body


def place(client: TestClient, **overrides: Any) -> dict[str, Any]:
    """A new order as placement answered it, with its ``access_token``."""
    response = client.post("/api/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def customer_of(order: dict[str, Any]) -> dict[str, str]:
    """The headers of the customer who placed ``order``."""
    return bearer(order["access_token"])


def apply_reply(orders: bootstrap.Orders, payload: Any) -> None:
    orders.service.apply_reply(envelope_for(payload))


def authorization(order: dict[str, Any]) -> PaymentAuthorized:
    total = order["total"]
    return PaymentAuthorized(
        order_id=order["order_id"],
        authorization_id=f"auth-{order['order_id'][:8]}",
        amount=Money(amount=total["amount"], currency=total["currency"]),
    )


def mark_now(writes: Any, engine: Engine) -> Any:
    """A fresh mark of what is in the store now."""
    return type(writes)(engine)
