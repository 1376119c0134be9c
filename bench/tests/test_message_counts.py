"""Invocations, handler durations and records, counted from the emulator's logs."""

from __future__ import annotations

from datetime import datetime

import pytest

from bench.message_counts import count_log_lines, records_handled, report_durations


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
