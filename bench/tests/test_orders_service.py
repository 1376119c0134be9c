"""What the bench reads from the orders API's answers."""

from __future__ import annotations

from bench.orders_service import described


def test_the_rate_limit_policy_is_described_in_words() -> None:
    assert described('"placements";q=20;w=1') == "20 per 1 s per client"
    assert described('"placements"; q=100000; w=1') == "100000 per 1 s per client"
    assert described(None) == "none announced"
