"""The relay figure: the publish window seen at the destinations, and the figures kept."""

from __future__ import annotations

import pytest

from bench.relay import publish_window, relay_figures


def test_the_publish_window_spans_the_first_to_the_last_message() -> None:
    assert publish_window([1_700_000_002_500, 1_700_000_000_000, 1_700_000_001_000]) == 2.5


def test_relay_figures_count_the_seeded_backlog_over_the_window() -> None:
    seeded = {
        "backlog": 30,
        "lag_seconds": 4.2,
        "destinations": {
            "bus": {"backlog": 10, "lag_seconds": 4.2},
            "fifo": {"backlog": 10, "lag_seconds": 4.2},
            "sns": {"backlog": 10, "lag_seconds": 4.2},
        },
    }
    figures = relay_figures(seeded, 0.5, [0.3, 0.1, 0.2])
    assert figures["messages"] == 30
    assert figures["destinations"] == {"bus": 10, "fifo": 10, "sns": 10}
    assert figures["messages_per_s"] == 60.0
    assert figures["commit_to_queue_p50_ms"] == pytest.approx(200.0)
    assert figures["commit_to_queue_max_ms"] == pytest.approx(300.0)
