"""Percentiles, latency summaries and rates."""

from __future__ import annotations

import pytest

from bench.stats import latency_summary, percentile, rate_between


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_refuses_a_rank_outside_0_to_100(q: float) -> None:
    with pytest.raises(ValueError, match="outside 0-100"):
        percentile([1.0], q)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_latency_summary_reports_count_percentiles_and_max() -> None:
    summary = latency_summary([float(n) for n in range(1, 101)])
    assert summary["count"] == 100
    assert summary["p50_s"] == pytest.approx(50.5)
    assert summary["p99_s"] == pytest.approx(99.01)
    assert summary["max_s"] == 100.0
    assert latency_summary([]) == {
        "count": 0,
        "p50_s": None,
        "p95_s": None,
        "p99_s": None,
        "max_s": None,
    }


def test_rate_between_is_zero_for_an_empty_window() -> None:
    assert rate_between(10.0, 12.0, 50) == 25.0
    assert rate_between(10.0, 10.0, 5) == 0.0
    assert rate_between(10.0, 12.0, 0) == 0.0
