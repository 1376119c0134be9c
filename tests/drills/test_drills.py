"""The fault drills: each fault injected while orders flow through the edge, then every service's
own store checked (``tests/drills/checker.py``). ``DRILL_OUTAGE_SECONDS`` sets how long a fault
lasts: 60 s in ``make drill`` (which prints the table); the drills are not in ``make test`` yet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import pytest

from tests.drills.drills import DrillRow, Drills

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("drills")]

heavy = pytest.mark.skipif(
    not os.environ.get("DRILL_ALL"),
    reason="a heavy drill: `make drill` runs it (DRILL_ALL=1); the suite's budget is too small",
)

Report = Callable[[DrillRow], None]


@heavy
def test_every_message_delivered_twice_then_the_window_replayed(
    drills: Drills, report_row: Report
) -> None:
    row = drills.run("duplicates + replay", drills.duplicates_and_replay)
    report_row(row)
    assert not row.violations


def test_the_relay_killed_mid_batch(drills: Drills, report_row: Report) -> None:
    row = drills.run("relay SIGKILL", drills.relay_killed)
    report_row(row)
    assert not row.violations


def test_a_lambda_execution_environment_killed(drills: Drills, report_row: Report) -> None:
    row = drills.run("Lambda SIGKILL", drills.lambda_killed)
    report_row(row)
    assert not row.violations


def test_the_emulator_frozen(drills: Drills, report_row: Report) -> None:
    row = drills.run("LocalStack SIGSTOP", drills.emulator_frozen)
    report_row(row)
    assert not row.violations


@heavy
def test_a_poison_message_in_each_queue(drills: Drills, report_row: Report) -> None:
    marker = f"poison-{uuid.uuid4().hex}"
    row = drills.run("poison per queue", drills.poison(marker), poison=marker)
    report_row(row)
    assert not row.violations


@heavy
def test_the_orders_database_unavailable(drills: Drills, report_row: Report) -> None:
    row = drills.run("orders database away", drills.database_unavailable)
    report_row(row)
    assert not row.violations
