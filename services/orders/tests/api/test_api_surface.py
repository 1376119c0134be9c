"""Unknown routes and methods, the OpenAPI document and the offline docs."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from services.orders.tests.api.order_requests import (
    expect_problem,
)

pytestmark = pytest.mark.integration


def test_unknown_routes_and_methods_answer_problems(client: TestClient) -> None:
    expect_problem(client.get("/api/nothing-here"), 404, "Not found")
    not_allowed = client.delete("/api/orders")
    expect_problem(not_allowed, 405, "Method not allowed")
    assert not_allowed.headers["allow"] == "GET, POST"
    one_order = client.put(f"/api/orders/{uuid.uuid4()}")
    expect_problem(one_order, 405, "Method not allowed")
    assert one_order.headers["allow"] == "GET"


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
