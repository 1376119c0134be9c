"""Rate stepping: up while steps pass, then bisect to the best sustained rate."""

from __future__ import annotations

from bench.ramp import RateStep, next_rate


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
