"""The tables ``make bench`` prints."""

from __future__ import annotations

from typing import Any

from bench.pipeline import evaluate
from bench.report import format_table, render_placement, render_startup, verdict


def test_format_table_aligns_columns_under_a_rule() -> None:
    table = format_table([["light", "1.05", "PASS"], ["step 2/s", "12.5"]], ["run", "p50", "ok"])
    assert table.splitlines() == [
        "run        p50    ok",
        "--------  ----  ----",
        "light     1.05  PASS",
        "step 2/s  12.5",
    ]


def test_verdict_words() -> None:
    assert [verdict(True), verdict(False), verdict(None)] == ["PASS", "FAIL", "-"]


def test_startup_table_has_a_row_per_figure_with_its_target() -> None:
    table = render_startup(
        {
            "measured_at": 0.0,
            "localstack_start_to_healthy_s": {"median": 1.234, "target": 5.0},
            "warm_invoke_round_trip_ms": {"median": 15.0, "p95": 21.04, "target": 20.0},
        }
    )
    assert table.splitlines() == [
        "figure                                median       p95    target",
        "localstack_start_to_healthy_s           1.23         -       5.0",
        "warm_invoke_round_trip_ms              15.00      21.0      20.0",
    ]


def row(rate: float) -> dict[str, Any]:
    return {"rate_per_s": rate, "p50_ms": 100.0, "p99_ms": 300.0, "errors": 0}


def test_placement_table_judges_each_ratio_and_shows_the_relay() -> None:
    figures = {
        "placement": {
            "row_bytes": 509,
            "rounds": 3,
            "seconds": 3.0,
            "concurrency": 32,
            "load_average_before": 2.3,
            "placement_limit": "100000 per 1 s per client",
            "sqlite": {"bare": row(90.0), "placement": row(60.0), "ratio": 60 / 90},
            "postgresql": {"bare": row(80.0), "placement": row(40.0), "ratio": 0.5},
        },
        "relay": {
            "messages": 3000,
            "seconds": 10.0,
            "messages_per_s": 300.0,
            "commit_to_queue_p50_ms": 80.0,
            "commit_to_queue_max_ms": 150.0,
        },
    }
    lines = render_placement(figures).splitlines()
    assert lines[1] == (
        "orders API placement limit in force: 100000 per 1 s per client"
        " (the bench's ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND)"
    )
    assert lines[5] == "sqlite      ratio             67% (target >= 60%: ok)"
    assert lines[8] == "postgresql  ratio             50% (target >= 60%: below target)"
    assert lines[-2] == (
        "relay: 3000 messages in 10.00 s = 300 messages/s (SNS + payments FIFO + EventBridge)"
    )


def test_targets_without_a_sustained_step_fail_and_unmeasured_ones_are_open() -> None:
    figures: dict[str, Any] = {
        "ceilings": {"sqs_lambda_sqs": {"messages_per_s": 100.0}},
        "idle": {"peak_rss_bytes": 1024},
        "stack": {
            "light": {"latency": {"p50_s": 1.0, "p99_s": 5.0}, "problems": []},
            "steps": [{"rate": 3.0, "passed": False, "problems": ["1 order(s) not final"]}],
            "sustained": None,
        },
    }
    checks = evaluate(figures)
    assert {name: check["passed"] for name, check in checks.items()} == {
        "light_p50_s": True,
        "light_p99_s": False,
        "ceiling_ratio": None,
        "nothing_lost_or_duplicated": False,
        "stack_memory_bytes": True,
    }
