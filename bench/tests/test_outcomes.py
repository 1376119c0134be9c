"""What a run did to the orders: latencies, final states, repeated events."""

from __future__ import annotations

import pytest

from bench.outcomes import backlog_grew, e2e_latencies, order_problems, stage_latencies
from bench.tests.orders import confirmed


def test_end_to_end_latency_counts_only_confirmed_orders() -> None:
    orders = [confirmed(1, 100.0, 1.5), {"index": 2, "posted_at": 100.0, "status": "on_hold"}]
    assert e2e_latencies(orders) == [1.5]


def test_stage_latencies_order_the_events_by_their_median() -> None:
    stages = stage_latencies([confirmed(1, 100.0, 1.0), confirmed(2, 200.0, 3.0)])
    assert list(stages) == ["OrderPlaced", "OrderConfirmed"]
    assert stages["OrderConfirmed"]["p50_s"] == pytest.approx(2.0)


def test_order_problems_name_failed_open_other_and_repeated() -> None:
    orders = [
        confirmed(1, 0.0, 1.0),
        {"index": 2, "posted_at": 0.0, "error": "POST answered 503: busy"},
        {"index": 3, "order_id": "o3", "posted_at": 0.0, "status": "awaiting_replies"},
        {"index": 4, "order_id": "o4", "posted_at": 0.0, "status": "cancelled"},
        confirmed(5, 0.0, 1.0, event_types=["OrderPlaced", "OrderConfirmed", "OrderConfirmed"]),
    ]
    assert order_problems(orders) == [
        "1 placement(s) failed, first: POST answered 503: busy",
        "1 order(s) not final in time",
        "1 order(s) cancelled instead of confirmed",
        "1 order stream(s) with an event type twice",
    ]
    assert order_problems([confirmed(1, 0.0, 1.0)]) == []


def test_backlog_grew_compares_the_last_third_with_the_first() -> None:
    steady = [confirmed(i, float(i), 1.0) for i in range(12)]
    growing = [confirmed(i, float(i), 1.0 + i) for i in range(12)]
    assert not backlog_grew(steady)
    assert backlog_grew(growing)
    assert not backlog_grew(growing[:8]), "too few orders to tell"
