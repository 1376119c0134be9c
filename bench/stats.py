"""Percentiles, latency summaries and rates: the arithmetic every figure shares."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50/p95/p99 and max in seconds (None when nothing was measured)."""
    if not seconds:
        return {"count": 0, "p50_s": None, "p95_s": None, "p99_s": None, "max_s": None}
    return {
        "count": len(seconds),
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "p99_s": percentile(seconds, 99),
        "max_s": max(seconds),
    }


def rate_between(first: float, last: float, count: int) -> float:
    """Items per second over [first, last]; 0 when the window is empty."""
    return count / (last - first) if count and last > first else 0.0
