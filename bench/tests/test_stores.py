"""Each effect exactly once in each service's store."""

from __future__ import annotations

from typing import Any

from bench.stores import StoreCounts, effect_problems, read_only
from bench.tests.orders import confirmed


def complete_counts(order: dict[str, Any]) -> StoreCounts:
    order_id = order["order_id"]
    return StoreCounts(
        reservations={order_id: "reserved"},
        payment_results={order_id: {"authorized": 1, "captured": 1, "repeated": 2}},
        emails_recorded={order_id: {"OrderPlaced": 1, "OrderConfirmed": 1}},
        mailbox={order["recipient"]: 2},
        verdicts={order_id: 1} if order["screened"] else {},
        analytics={order_id: {"OrderPlaced": 1, "OrderConfirmed": 1}},
        stock_taken=1,
    )


def test_each_effect_once_in_each_store_is_no_problem() -> None:
    order = confirmed(1, 0.0, 1.0, screened=True)
    assert effect_problems([order], complete_counts(order)) == []


def test_missing_and_repeated_effects_are_named() -> None:
    order = confirmed(1, 0.0, 1.0)
    counts = complete_counts(order)
    counts.payment_results[order["order_id"]]["captured"] = 2
    counts.mailbox[order["recipient"]] = 1
    counts.verdicts[order["order_id"]] = 1
    counts.stock_taken = 2
    assert effect_problems([order], counts) == [
        "1 order(s) missing SES mailbox message",
        "1 order(s) with fraud verdict more than once",
        "1 order(s) with payment captured more than once",
        "stock taken more than once: down by 2 for 1 reservation(s)",
    ]


def test_stock_follows_the_reservations_not_the_confirmations() -> None:
    order = confirmed(1, 0.0, 1.0)
    late: dict[str, Any] = {
        "index": 2,
        "order_id": "order-2",
        "posted_at": 0.0,
        "status": "awaiting_replies",
    }
    counts = complete_counts(order)
    counts.reservations[late["order_id"]] = "reserved"
    counts.stock_taken = 2
    assert effect_problems([order, late], counts) == []
    counts.stock_taken = 1
    assert effect_problems([order, late], counts) == [
        "stock decrement missing: down by 1 for 2 reservation(s)"
    ]


def test_a_screened_order_without_a_verdict_lost_it() -> None:
    order = confirmed(1, 0.0, 1.0, screened=True)
    counts = complete_counts(order)
    counts.verdicts.clear()
    assert effect_problems([order], counts) == ["1 order(s) missing fraud verdict"]


def test_sqlite_urls_are_opened_read_only_and_others_kept() -> None:
    assert read_only("sqlite:////srv/data/inventory.db") == (
        "sqlite:///file:/srv/data/inventory.db?mode=ro&uri=true"
    )
    postgres = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert read_only(postgres) == postgres
