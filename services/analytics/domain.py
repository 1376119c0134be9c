"""What each order event adds to the shop's figures, and how the dashboard reads them.

Pure: ``tally`` turns one event into increments of the aggregates; the adapter applies them
(once per event id) and ``dashboard`` shapes stored aggregates for the frontend.

Figures are kept per minute (of the event's ``occurred_at``, UTC) and currency. OrderCancelled
carries no amount: it is counted under the currency of its order when analytics has seen the
OrderPlaced, under ``XXX`` (ISO 4217 "no currency") when it has not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

UNKNOWN_CURRENCY = "XXX"
MAX_REASON_LENGTH = 120


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    """In minor units of the currency."""
    currency: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Money


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: str
    lines: tuple[OrderLine, ...]
    total: Money


@dataclass(frozen=True, slots=True)
class OrderConfirmed:
    total: Money


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    reason: str


Fact = OrderPlaced | OrderConfirmed | OrderCancelled
"""What analytics reads from an order event; the other events only count as events."""


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One delivery of an order event: its id, type, order, moment and fact (if any)."""

    event_id: str
    event_type: str
    order_id: str
    occurred_at: datetime
    fact: Fact | None = None


@dataclass(frozen=True, slots=True)
class KnownOrder:
    """What analytics remembers of an OrderPlaced to attribute later events."""

    order_id: str
    currency: str
    total: int


@dataclass(frozen=True, slots=True)
class SkuSale:
    sku: str
    currency: str
    units: int
    revenue: int


@dataclass(frozen=True, slots=True)
class Tally:
    """The increments one event contributes; zero fields add nothing."""

    event_type: str
    minute: datetime
    currency: str
    placed: int = 0
    placed_value: int = 0
    confirmed: int = 0
    revenue: int = 0
    cancelled: int = 0
    cancellation_reason: str | None = None
    sku_sales: tuple[SkuSale, ...] = ()
    new_order: KnownOrder | None = None


def minute_of(moment: datetime) -> datetime:
    """The UTC minute a moment falls in (naive moments are taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(second=0, microsecond=0)


def reason_category(reason: str) -> str:
    """Cancellations are grouped by the part of the reason before its first colon
    (``payment declined: insufficient funds`` -> ``payment declined``)."""
    category = reason.split(":", 1)[0].strip().lower()
    return (category or "unspecified")[:MAX_REASON_LENGTH]


def tally(
    event_type: str, occurred_at: datetime, payload: Fact | None, known: KnownOrder | None
) -> Tally:
    minute = minute_of(occurred_at)
    if isinstance(payload, OrderPlaced):
        currency = payload.total.currency
        return Tally(
            event_type,
            minute,
            currency,
            placed=1,
            placed_value=payload.total.amount,
            sku_sales=tuple(
                SkuSale(
                    line.sku,
                    line.unit_price.currency,
                    line.quantity,
                    line.quantity * line.unit_price.amount,
                )
                for line in payload.lines
            ),
            new_order=KnownOrder(payload.order_id, currency, payload.total.amount),
        )
    if isinstance(payload, OrderConfirmed):
        return Tally(
            event_type, minute, payload.total.currency, confirmed=1, revenue=payload.total.amount
        )
    currency = known.currency if known else UNKNOWN_CURRENCY
    if isinstance(payload, OrderCancelled):
        return Tally(
            event_type,
            minute,
            currency,
            cancelled=1,
            cancellation_reason=reason_category(payload.reason),
        )
    return Tally(event_type, minute, currency)


@dataclass(frozen=True, slots=True)
class MinuteFigures:
    minute: datetime
    currency: str
    placed: int
    placed_value: int
    confirmed: int
    revenue: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class SkuFigures:
    sku: str
    currency: str
    units: int
    orders: int
    revenue: int


@dataclass(frozen=True, slots=True)
class Figures:
    """What the store holds, as the dashboard needs it."""

    minutes: tuple[MinuteFigures, ...]
    totals: tuple[MinuteFigures, ...]
    """One row per currency over all time (``minute`` is unused)."""
    skus: tuple[SkuFigures, ...]
    cancellations: Mapping[str, int]
    event_counts: Mapping[str, int]


def dashboard(figures: Figures, now: datetime, window_minutes: int, top: int) -> dict[str, Any]:
    """The dashboard JSON: a zero-filled per-minute series of the last ``window_minutes``
    (oldest first, ending with the current minute), totals, top SKUs by units, conversion from
    placed to confirmed, and cancellations by reason (most frequent first)."""
    if window_minutes < 1:
        raise ValueError(f"window must be at least one minute, got {window_minutes}")
    end = minute_of(now)
    start = end - timedelta(minutes=window_minutes - 1)
    by_minute: dict[datetime, list[MinuteFigures]] = defaultdict(list)
    for row in figures.minutes:
        if start <= row.minute <= end:
            by_minute[row.minute].append(row)
    series = [
        {"minute": _iso(minute), **_summary(by_minute.get(minute, []))}
        for minute in (start + timedelta(minutes=offset) for offset in range(window_minutes))
    ]
    totals = _summary(figures.totals)
    placed, confirmed = totals["orders_placed"], totals["orders_confirmed"]
    return {
        "generated_at": _iso(now),
        "window_minutes": window_minutes,
        "series": series,
        "totals": {**totals, "events": dict(sorted(figures.event_counts.items()))},
        "top_skus": _top_skus(figures.skus, top),
        "conversion": {
            "placed": placed,
            "confirmed": confirmed,
            "rate": round(confirmed / placed, 4) if placed else None,
        },
        "cancellations_by_reason": [
            {"reason": reason, "count": count}
            for reason, count in sorted(
                figures.cancellations.items(), key=lambda item: (-item[1], item[0])
            )
        ],
    }


def _summary(rows: Iterable[MinuteFigures]) -> dict[str, Any]:
    placed_value: dict[str, int] = defaultdict(int)
    revenue: dict[str, int] = defaultdict(int)
    counts = {"orders_placed": 0, "orders_confirmed": 0, "orders_cancelled": 0}
    for row in rows:
        counts["orders_placed"] += row.placed
        counts["orders_confirmed"] += row.confirmed
        counts["orders_cancelled"] += row.cancelled
        if row.placed_value:
            placed_value[row.currency] += row.placed_value
        if row.revenue:
            revenue[row.currency] += row.revenue
    return {
        **counts,
        "placed_value": dict(sorted(placed_value.items())),
        "revenue": dict(sorted(revenue.items())),
    }


def _top_skus(rows: Iterable[SkuFigures], top: int) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = merged.setdefault(row.sku, {"sku": row.sku, "units": 0, "orders": 0, "revenue": {}})
        entry["units"] += row.units
        entry["orders"] += row.orders
        entry["revenue"][row.currency] = entry["revenue"].get(row.currency, 0) + row.revenue
    ranked = sorted(merged.values(), key=lambda entry: (-entry["units"], entry["sku"]))
    return ranked[:top]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
