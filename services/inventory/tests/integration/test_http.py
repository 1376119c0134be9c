"""The catalogue function URL, fed payload-2.0 events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.inventory.http import CatalogueSettings
from services.inventory.http import handler as catalogue
from services.inventory.tests.shelf import Shelf
from shared.catalogue import load_catalogue
from shared.entry_point import LambdaHandler
from shared.tests.aws_events import LambdaContextDouble, function_url_event

pytestmark = pytest.mark.integration


@pytest.fixture
def sku(shelf: Shelf) -> str:
    return shelf.product(stock=3, name="MUG")


@pytest.fixture
def handler(database_url: str) -> LambdaHandler:
    return catalogue.build(
        CatalogueSettings(database_url=database_url, catalogue_max_age_seconds=7)
    )


def get(handler: LambdaHandler, path: str, method: str = "GET") -> tuple[int, dict[str, str], Any]:
    response = handler(function_url_event(path, method=method), LambdaContextDouble())
    headers = {name.lower(): value for name, value in response["headers"].items()}
    return response["statusCode"], headers, json.loads(response["body"])


def test_the_catalogue_lists_seeded_products_with_live_stock(
    handler: LambdaHandler, shelf: Shelf, sku: str
) -> None:
    shelf.stock.reserve(shelf.order(), {sku: 2})
    status, headers, body = get(handler, "/api/catalogue")

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "public, max-age=7"
    by_sku = {product["sku"]: product for product in body}
    assert by_sku[sku] == {
        "sku": sku,
        "name": "Test MUG",
        "description": "A test product",
        "prices": {"EUR": 100},
        "available": 1,
    }
    seeded = load_catalogue()[0]
    assert by_sku[seeded.sku]["prices"] == dict(seeded.prices)


def test_one_product_by_sku(handler: LambdaHandler, sku: str) -> None:
    status, _, body = get(handler, f"/api/catalogue/{sku}")
    assert (status, body["sku"], body["available"]) == (200, sku, 3)


def test_an_unknown_sku_is_a_404_problem(handler: LambdaHandler) -> None:
    status, headers, body = get(handler, "/api/catalogue/NOPE-404")
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert body == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no product with SKU 'NOPE-404'",
    }


def test_an_unknown_path_is_a_404_problem(handler: LambdaHandler) -> None:
    status, headers, body = get(handler, "/api/elsewhere")
    assert (status, headers["content-type"]) == (404, "application/problem+json")
    assert body["detail"] == "nothing at /api/elsewhere"


@pytest.mark.parametrize("path", ["/api/catalogue", "/api/catalogue/MUG-001"])
def test_writing_is_a_405_problem_that_allows_get(handler: LambdaHandler, path: str) -> None:
    status, headers, body = get(handler, path, method="POST")
    assert (status, headers["allow"], headers["content-type"]) == (
        405,
        "GET",
        "application/problem+json",
    )
    assert body["title"] == "Method Not Allowed"
    assert body["detail"].startswith("POST /api/catalogue")
