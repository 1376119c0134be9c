"""The pure parts of the pipeline bench: percentiles, rate stepping, verdicts and tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bench.pipeline import (
    RateStep,
    StoreCounts,
    backlog_grew,
    count_log_lines,
    descendants,
    e2e_latencies,
    effect_problems,
    format_table,
    latency_summary,
    next_rate,
    order_problems,
    percentile,
    rate_between,
    read_only,
    records_handled,
    report_durations,
    stage_latencies,
    verdict,
)


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


def test_rates_double_while_steps_pass() -> None:
    assert next_rate([], start=2.0) == 2.0
    assert next_rate([RateStep(2.0, True)], start=2.0) == 4.0
    assert next_rate([RateStep(2.0, True), RateStep(4.0, True)], start=2.0) == 8.0


def test_after_a_failure_rates_bisect_until_close_enough() -> None:
    steps = [RateStep(2.0, True), RateStep(4.0, True), RateStep(8.0, False)]
    assert next_rate(steps, start=2.0) == 6.0
    steps.append(RateStep(6.0, True))
    assert next_rate(steps, start=2.0) == 7.0
    steps.append(RateStep(7.0, False))
    assert next_rate(steps, start=2.0) is None


def test_with_no_pass_the_rate_halves_down_to_an_eighth_of_the_start() -> None:
    assert next_rate([RateStep(2.0, False)], start=2.0) == 1.0
    assert next_rate([RateStep(2.0, False), RateStep(1.0, False)], start=2.0) == 0.5
    failures = [RateStep(rate, False) for rate in (2.0, 1.0, 0.5, 0.25)]
    assert next_rate(failures, start=2.0) is None


def test_a_pass_above_a_failure_does_not_count_as_the_best() -> None:
    steps = [RateStep(2.0, True), RateStep(4.0, False), RateStep(5.0, True)]
    assert next_rate(steps, start=2.0) == 3.0


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


def confirmed(index: int, posted: float, took: float, **extra: Any) -> dict[str, Any]:
    return {
        "index": index,
        "order_id": f"order-{index}",
        "recipient": f"r{index}@example.com",
        "screened": False,
        "posted_at": posted,
        "status": "confirmed",
        "confirmed_at": posted + took,
        "event_types": ["OrderPlaced", "OrderConfirmed"],
        "event_times": {"OrderPlaced": posted + 0.01, "OrderConfirmed": posted + took},
        **extra,
    }


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
    late = {"index": 2, "order_id": "order-2", "posted_at": 0.0, "status": "awaiting_replies"}
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


def test_descendants_walk_the_whole_tree() -> None:
    parents = {10: 1, 11: 10, 12: 11, 13: 10, 20: 1}
    assert sorted(descendants(10, parents)) == [10, 11, 12, 13]


def test_sqlite_urls_are_opened_read_only_and_others_kept() -> None:
    assert read_only("sqlite:////srv/data/inventory.db") == (
        "sqlite:///file:/srv/data/inventory.db?mode=ro&uri=true"
    )
    postgres = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert read_only(postgres) == postgres


def test_log_lines_count_answered_invocations_and_cloudwatch_failures_in_the_window() -> None:
    lines = [
        "2026-11-23T17:35:59.367  INFO --- [r-3] localstack.request.http : "
        "POST /_localstack_lambda/e49/invocations/b36/logs => 202",
        "2026-11-23T17:35:59.372  INFO --- [r-3] localstack.request.http : "
        "POST /_localstack_lambda/e49/invocations/b36/response => 202",
        "2026-11-23T17:36:00.100  INFO --- [r-4] localstack.request.http : "
        "POST /_localstack_lambda/e49/invocations/c01/error => 202",
        "2026-11-23T17:36:01.000 ERROR --- [r-1] l.aws.handlers.logging : "
        "exception during call chain: unable to open database file",
        "2026-11-23T17:40:00.000  INFO --- [r-3] localstack.request.http : "
        "POST /_localstack_lambda/e49/invocations/d02/response => 202",
        "a continuation line without a timestamp /invocations/x/response => 202",
    ]
    began = datetime.fromisoformat("2026-11-23T17:35:59").timestamp()
    ended = datetime.fromisoformat("2026-11-23T17:37:00").timestamp()
    assert count_log_lines(lines, began, ended) == {
        "lambda_invocations": 2,
        "cloudwatch_failures": 1,
    }


def test_report_lines_give_each_invocation_duration_in_seconds() -> None:
    text = (
        "START RequestId: a Version: $LATEST\n"
        "REPORT RequestId: a\tDuration: 114.08 ms\n"
        '{"level":"INFO","message":"REPORT RequestId: b\\tDuration: 9 ms"}\n'
        "REPORT RequestId: c\tDuration: 2.50 ms\n"
    )
    assert report_durations(text) == pytest.approx([0.11408, 0.0025])


def test_each_record_outcome_of_a_consumer_counts_once() -> None:
    text = "\n".join(
        [
            '{"level":"INFO","message":"OrderPlaced handled","service":"email"}',
            '{"level":"INFO","message":"already handled: duplicate delivery ignored"}',
            '{"level":"ERROR","message":"message m-1 rejected: not an envelope"}',
            '{"level":"ERROR","message":"CapturePayment failed; it will be delivered again"}',
            '{"level":"DEBUG","message":"catalogue request"}',
            "REPORT RequestId: a\tDuration: 3.00 ms",
        ]
    )
    assert records_handled(text) == 4
