"""What the pipeline's load generator sends and keeps of each order."""

from __future__ import annotations

from datetime import datetime

from bench.order_load import LoadPlan, order_body, timeline


def test_every_nth_order_ships_where_the_fraud_lambda_screens_it() -> None:
    plan = LoadPlan("http://edge", "shop.localhost", "http://api", "r1", 0, "MUG-001")
    countries = [order_body(plan, index)["shipping_country"] for index in range(5)]
    assert countries == ["US", "DE", "DE", "DE", "US"]
    assert order_body(plan, 3)["customer_email"] == "bench-r1-3@example.com"


def test_the_timeline_keeps_types_times_and_the_first_confirmation() -> None:
    events = [
        {"type": "OrderPlaced", "recorded_at": "2026-11-30T05:00:00+00:00"},
        {"type": "OrderConfirmed", "recorded_at": "2026-11-30T05:00:01+00:00"},
        {"type": "PaymentCaptured", "recorded_at": "2026-11-30T05:00:02+00:00"},
    ]
    kept = timeline(events)
    assert kept["event_types"] == ["OrderPlaced", "OrderConfirmed", "PaymentCaptured"]
    assert kept["confirmed_at"] == datetime.fromisoformat(events[1]["recorded_at"]).timestamp()
    assert timeline(events[:1])["confirmed_at"] is None
