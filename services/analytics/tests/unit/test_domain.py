"""What each order event adds to the figures, and the dashboard shaped from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.analytics.domain import (
    UNKNOWN_CURRENCY,
    Figures,
    KnownOrder,
    MinuteFigures,
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    SkuFigures,
    SkuSale,
    dashboard,
    minute_of,
    reason_category,
    tally,
)

AT = datetime(2026, 11, 23, 17, 41, 37, 120000, tzinfo=UTC)
MINUTE = datetime(2026, 11, 23, 17, 41, tzinfo=UTC)

PLACED = OrderPlaced(
    order_id="ord-1",
    lines=(
        OrderLine(sku="MUG-001", quantity=2, unit_price=Money(amount=1299, currency="EUR")),
        OrderLine(sku="TEE-002", quantity=1, unit_price=Money(amount=2499, currency="EUR")),
    ),
    total=Money(amount=5097, currency="EUR"),
)


def test_minutes_are_utc_and_truncated() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert minute_of(AT) == MINUTE
    assert minute_of(datetime(2026, 11, 23, 19, 41, 59, tzinfo=plus_two)) == MINUTE
    assert minute_of(datetime(2026, 11, 23, 17, 41, 5)) == MINUTE


def test_placed_counts_the_order_its_value_and_every_line() -> None:
    result = tally("OrderPlaced", AT, PLACED, None)
    assert (result.minute, result.currency, result.placed, result.placed_value) == (
        MINUTE,
        "EUR",
        1,
        5097,
    )
    assert result.sku_sales == (
        SkuSale("MUG-001", "EUR", 2, 2598),
        SkuSale("TEE-002", "EUR", 1, 2499),
    )
    assert result.new_order == KnownOrder("ord-1", "EUR", 5097)
    assert (result.confirmed, result.revenue, result.cancelled) == (0, 0, 0)


def test_confirmed_is_revenue_in_its_currency() -> None:
    result = tally(
        "OrderConfirmed",
        AT,
        OrderConfirmed(total=Money(amount=99, currency="GBP")),
        None,
    )
    assert (result.currency, result.confirmed, result.revenue, result.placed) == ("GBP", 1, 99, 0)


def test_cancelled_is_counted_under_its_order_currency_with_its_reason_category() -> None:
    event = OrderCancelled(reason="Payment declined: insufficient funds")
    known = tally("OrderCancelled", AT, event, KnownOrder("ord-1", "USD", 10))
    unknown = tally("OrderCancelled", AT, event, None)
    assert (known.currency, known.cancelled, known.cancellation_reason) == (
        "USD",
        1,
        "payment declined",
    )
    assert unknown.currency == UNKNOWN_CURRENCY


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("out of stock: out of stock", "out of stock"),
        ("customer changed their mind", "customer changed their mind"),
        ("  : nothing before the colon", "unspecified"),
        ("x" * 500, "x" * 120),
    ],
)
def test_reason_categories(reason: str, category: str) -> None:
    assert reason_category(reason) == category


def test_other_events_only_count_as_events() -> None:
    held = tally("OrderPutOnHold", AT, None, None)
    late = tally("LateReplyIgnored", AT, None, None)
    for result in (held, late):
        assert (result.placed, result.confirmed, result.cancelled, result.revenue) == (0, 0, 0, 0)
        assert result.cancellation_reason is None and result.new_order is None
    assert held.event_type == "OrderPutOnHold"


def figures(minutes: tuple[MinuteFigures, ...] = ()) -> Figures:
    return Figures(
        minutes=minutes,
        totals=(
            MinuteFigures(MINUTE, "EUR", 4, 4000, 3, 2500, 1),
            MinuteFigures(MINUTE, "GBP", 2, 900, 0, 0, 0),
            MinuteFigures(MINUTE, UNKNOWN_CURRENCY, 0, 0, 0, 0, 1),
        ),
        skus=(
            SkuFigures("MUG-001", "EUR", 5, 3, 6495),
            SkuFigures("MUG-001", "GBP", 1, 1, 1099),
            SkuFigures("TEE-002", "EUR", 6, 1, 14994),
            SkuFigures("CAP-007", "EUR", 1, 1, 1999),
        ),
        cancellations={"out of stock": 1, "payment declined": 3, "aardvark": 1},
        event_counts={"OrderPlaced": 6, "OrderConfirmed": 3},
    )


def test_the_series_covers_the_window_with_zeros_where_nothing_happened() -> None:
    earlier = MINUTE - timedelta(minutes=2)
    rows = (
        MinuteFigures(earlier, "EUR", 2, 2000, 1, 1000, 0),
        MinuteFigures(earlier, "GBP", 1, 500, 0, 0, 0),
        MinuteFigures(MINUTE, "EUR", 1, 700, 0, 0, 1),
        MinuteFigures(MINUTE - timedelta(minutes=3), "EUR", 9, 9, 9, 9, 9),  # outside the window
    )
    result = dashboard(figures(rows), AT, window_minutes=3, top=10)
    assert [point["minute"] for point in result["series"]] == [
        "2026-11-23T17:39:00Z",
        "2026-11-23T17:40:00Z",
        "2026-11-23T17:41:00Z",
    ]
    assert result["series"][0] == {
        "minute": "2026-11-23T17:39:00Z",
        "orders_placed": 3,
        "orders_confirmed": 1,
        "orders_cancelled": 0,
        "placed_value": {"EUR": 2000, "GBP": 500},
        "revenue": {"EUR": 1000},
    }
    assert result["series"][1]["orders_placed"] == 0
    assert result["series"][1]["placed_value"] == {}
    assert result["series"][2]["orders_cancelled"] == 1


def test_totals_conversion_top_skus_and_cancellations() -> None:
    result = dashboard(figures(), AT, window_minutes=1, top=2)
    assert result["totals"]["orders_placed"] == 6
    assert result["totals"]["orders_cancelled"] == 2
    assert result["totals"]["revenue"] == {"EUR": 2500}
    assert result["totals"]["events"] == {"OrderConfirmed": 3, "OrderPlaced": 6}
    assert result["conversion"] == {"placed": 6, "confirmed": 3, "rate": 0.5}
    assert result["top_skus"] == [
        {"sku": "MUG-001", "units": 6, "orders": 4, "revenue": {"EUR": 6495, "GBP": 1099}},
        {"sku": "TEE-002", "units": 6, "orders": 1, "revenue": {"EUR": 14994}},
    ]
    assert result["cancellations_by_reason"] == [
        {"reason": "payment declined", "count": 3},
        {"reason": "aardvark", "count": 1},
        {"reason": "out of stock", "count": 1},
    ]


def test_no_orders_means_no_conversion_rate() -> None:
    empty = Figures((), (), (), {}, {})
    assert dashboard(empty, AT, 5, 5)["conversion"] == {"placed": 0, "confirmed": 0, "rate": None}


def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one minute"):
        dashboard(figures(), AT, 0, 5)
