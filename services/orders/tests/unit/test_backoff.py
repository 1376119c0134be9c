"""Exponential backoff with jitter, drawn from a given source of numbers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.orders.backoff import Backoff


def numbers(*values: float) -> Iterator[float]:
    yield from values


def test_the_ceiling_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    backoff = Backoff(0.2, 1.0, random_source=lambda: 0.0)

    assert [backoff.next_delay() for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.reset()
    assert backoff.next_delay() == 0.2


def test_full_jitter_draws_anywhere_below_the_ceiling() -> None:
    draws = numbers(0.5, 0.25, 0.999)
    backoff = Backoff(1.0, 100.0, random_source=lambda: next(draws))

    assert [backoff.next_delay() for _ in range(3)] == [0.5, 1.5, pytest.approx(0.004)]
    assert backoff.floor_after(3) == 0.0


def test_half_jitter_keeps_at_least_half_the_ceiling() -> None:
    draws = numbers(0.0, 0.5, 0.999)
    backoff = Backoff(10.0, 300.0, jitter=0.5, random_source=lambda: next(draws))

    assert [backoff.delay_after(n) for n in (1, 2, 3)] == [10.0, 15.0, pytest.approx(20.02)]
    assert [backoff.floor_after(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [
        5.0,
        10.0,
        20.0,
        40.0,
        80.0,
        150.0,
        150.0,
    ]


def test_the_jitter_is_a_fraction() -> None:
    with pytest.raises(ValueError, match="jitter"):
        Backoff(1.0, 2.0, jitter=1.5)
