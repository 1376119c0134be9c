"""Through the edge as the public reaches it: an order answers only its customer's token (or an
operator's credential); lists, the operations API and analytics only operators."""

from __future__ import annotations

import uuid

import pytest

from shared.function_url import CREDENTIAL_HEADER
from tests.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# Path, and the header its credential goes in (the analytics reader's: see CREDENTIAL_HEADER).
OPERATOR_ONLY = [
    ("/api/orders", "Authorization"),
    ("/api/ops/queues", "Authorization"),
    ("/api/ops/log", "Authorization"),
    ("/api/analytics", CREDENTIAL_HEADER),
]


@pytest.mark.parametrize(("path", "header"), OPERATOR_ONLY)
def test_lists_operations_and_analytics_are_for_operators(
    shop: Shop, path: str, header: str
) -> None:
    order = shop.place()

    anonymous = shop.site.get(path)
    as_customer = shop.site.get(path, headers=shop.customer(order["order_id"], header))
    as_operator = shop.site.get(path, headers=shop.as_operator(header))

    assert anonymous.status_code == 401, anonymous.text
    assert as_customer.status_code == 401, as_customer.text
    assert as_operator.status_code == 200, as_operator.text
    assert order["customer_email"] not in anonymous.text + as_customer.text


def test_an_order_answers_its_customer_and_operators_and_looks_unknown_to_others(
    shop: Shop,
) -> None:
    mine, theirs = shop.place(), shop.place()
    path = f"/api/orders/{mine['order_id']}"

    anonymous = shop.site.get(path)
    other_customer = shop.site.get(path, headers=shop.customer(theirs["order_id"]))
    unknown = shop.site.get(
        f"/api/orders/{uuid.uuid4()}", headers=shop.customer(theirs["order_id"])
    )
    cancel = shop.site.post(f"{path}/cancel", headers=shop.customer(theirs["order_id"]))

    assert anonymous.status_code == 401
    assert other_customer.status_code == unknown.status_code == cancel.status_code == 404
    assert other_customer.json()["title"] == unknown.json()["title"] == "Unknown order"
    assert mine["customer_email"] not in other_customer.text + cancel.text
    assert shop.order(mine["order_id"])["order_id"] == mine["order_id"]
    as_operator = shop.site.get(path, headers=shop.as_operator())
    assert as_operator.json()["customer_email"] == mine["customer_email"]
