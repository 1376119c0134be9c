"""Orders flow through every service of the deployed stack, seen from the public entry point."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from shared.tests.polling import eventually
from tests.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

FLOW_TIMEOUT = 60
_wait = partial(eventually, seconds=FLOW_TIMEOUT, interval=0.2)
RISKY_BASKET = [{"sku": "WATCH-006", "quantity": 2}]
SUSPICIOUS_EMAIL_DOMAIN = "mailinator.com"


def confirmed(order: dict[str, Any], types: list[str]) -> bool:
    return order["status"] == "confirmed" and "PaymentCaptured" in types


def cancelled_and_compensated(*compensations: str) -> Any:
    def check(order: dict[str, Any], types: list[str]) -> bool:
        return order["status"] == "cancelled" and all(c in types for c in compensations)

    return check


def available(shop: Shop, sku: str) -> int:
    response = shop.site.get(f"/api/catalogue/{sku}")
    assert response.status_code == 200, response.text
    return int(response.json()["available"])


def outside_allowed_country(shop: Shop) -> str:
    allowed = set(shop.parameters["FraudAllowedCountries"].split(","))
    return next(country for country in ("BR", "NG", "VN", "AR") if country not in allowed)


def test_happy_path_confirms_captures_and_mails(shop: Shop) -> None:
    email = f"happy-{uuid.uuid4().hex[:8]}@example.com"
    order = shop.place(customer_email=email)
    assert order["status"] in {"new", "awaiting_replies"}

    final, types = shop.wait_for(order["order_id"], confirmed, FLOW_TIMEOUT)

    for expected in (
        "OrderPlaced",
        "InventoryReserved",
        "PaymentAuthorized",
        "FraudCheckSkipped",
        "OrderConfirmed",
        "PaymentCaptured",
    ):
        assert expected in types
    assert types.index("OrderConfirmed") < types.index("PaymentCaptured")
    assert final["status"] == "confirmed"


@pytest.mark.emulator_only
def test_happy_path_sends_the_confirmation_email(shop: Shop) -> None:
    email = f"mail-{uuid.uuid4().hex[:8]}@example.com"
    order = shop.place(customer_email=email)
    shop.wait_for(order["order_id"], confirmed, FLOW_TIMEOUT)

    subjects = _wait_for_mail(shop, email, 2)
    assert any("confirmed" in subject.lower() for subject in subjects)


def test_out_of_stock_cancels_voids_and_mails(shop: Shop) -> None:
    order = shop.place(lines=[{"sku": "RETIRED-008", "quantity": 1}])

    final, types = shop.wait_for(
        order["order_id"],
        cancelled_and_compensated("InventoryRejected", "PaymentVoided"),
        FLOW_TIMEOUT,
    )

    assert "OrderConfirmed" not in types
    assert "PaymentCaptured" not in types
    assert final["status"] == "cancelled"


def test_declined_card_cancels_and_releases_stock(shop: Shop) -> None:
    sku = "STICK-004"
    before = available(shop, sku)

    order = shop.place(lines=[{"sku": sku, "quantity": 3}], payment_token="tok_insufficient_funds")
    _, types = shop.wait_for(
        order["order_id"], cancelled_and_compensated("PaymentDeclined"), FLOW_TIMEOUT
    )

    assert "PaymentCaptured" not in types
    _wait(lambda: available(shop, sku) == before, "stock of the declined order released")


def test_a_risky_order_is_held_then_approved_and_captured(shop: Shop) -> None:
    order = shop.place(
        customer_email=f"risk-{uuid.uuid4().hex[:8]}@{SUSPICIOUS_EMAIL_DOMAIN}",
        shipping_country=outside_allowed_country(shop),
        lines=RISKY_BASKET,
    )
    shop.wait_for(order["order_id"], lambda o, t: o["status"] == "on_hold", FLOW_TIMEOUT)
    assert "OrderFlaggedForReview" in shop.event_types(order["order_id"])

    shop.review(order["order_id"], approve=True)

    _, types = shop.wait_for(order["order_id"], confirmed, FLOW_TIMEOUT)
    assert "OrderReviewApproved" in types
    assert "FraudCheckSkipped" not in types
    [review] = [e for e in shop.events(order["order_id"]) if e["type"] == "OrderReviewApproved"]
    assert review["payload"]["reviewer"] == shop.operator.name


def test_a_rejected_risky_order_is_cancelled_and_compensated(shop: Shop) -> None:
    order = shop.place(
        customer_email=f"reject-{uuid.uuid4().hex[:8]}@{SUSPICIOUS_EMAIL_DOMAIN}",
        shipping_country=outside_allowed_country(shop),
        lines=RISKY_BASKET,
    )
    shop.wait_for(order["order_id"], lambda o, t: o["status"] == "on_hold", FLOW_TIMEOUT)

    shop.review(order["order_id"], approve=False, reason="stolen card")

    _, types = shop.wait_for(
        order["order_id"], cancelled_and_compensated("PaymentVoided"), FLOW_TIMEOUT
    )
    assert "OrderReviewRejected" in types
    assert "PaymentCaptured" not in types


def test_a_low_risk_order_never_reaches_the_fraud_lambda(shop: Shop) -> None:
    order = shop.place()

    _, types = shop.wait_for(order["order_id"], confirmed, FLOW_TIMEOUT)

    assert "FraudCheckSkipped" in types
    assert "FraudCheckPassed" not in types
    assert "OrderFlaggedForReview" not in types


def test_fifty_concurrent_orders_each_reach_the_state_their_inputs_dictate(shop: Shop) -> None:
    country = outside_allowed_country(shop)
    requests: list[tuple[dict[str, Any], str]] = []
    for index in range(50):
        if index % 4 == 0:
            email = f"bulk-{uuid.uuid4().hex[:8]}@{SUSPICIOUS_EMAIL_DOMAIN}"
            body = {"customer_email": email, "shipping_country": country, "lines": RISKY_BASKET}
            requests.append((body, "on_hold"))
        elif index % 4 == 1:
            requests.append(({"payment_token": "tok_insufficient_funds"}, "cancelled"))
        else:
            requests.append(({}, "confirmed"))

    with ThreadPoolExecutor(max_workers=10) as pool:
        orders = list(pool.map(lambda request: shop.place(**request[0]), requests))

    for order, (_, expected) in zip(orders, requests, strict=True):
        _, types = shop.wait_for(order["order_id"], partial(_settled, expected), FLOW_TIMEOUT * 2)
        payments = [t for t in types if t.startswith("Payment")]
        assert payments[0] in {"PaymentAuthorized", "PaymentDeclined"}, types
        assert payments.count("PaymentCaptured") <= 1, types


def _settled(expected: str, order: dict[str, Any], types: list[str]) -> bool:
    """The order reached ``expected`` and its payment settled the way that status implies."""
    settled_by = {"confirmed": "PaymentCaptured", "cancelled": "PaymentDeclined"}
    return bool(
        order["status"] == expected and settled_by.get(expected, "PaymentAuthorized") in types
    )


def _wait_for_mail(shop: Shop, recipient: str, count: int) -> list[str]:
    subjects: list[str] = []

    def arrived() -> bool:
        subjects[:] = [m.get("Subject", "") for m in shop.mailbox(recipient)]
        return len(subjects) >= count

    _wait(arrived, f"{count} e-mails to {recipient}")
    return subjects
