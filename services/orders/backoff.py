"""Exponential backoff: delays from ``initial`` doubling up to ``cap``."""

from __future__ import annotations


def delay(initial: float, cap: float, failures: int) -> float:
    """The wait after ``failures`` failures in a row (``initial`` after the first)."""
    return float(min(cap, initial * 2.0 ** max(0, failures - 1)))


class Backoff:
    """Counts failures in a row; ``next_delay`` after each, ``reset`` after a success."""

    def __init__(self, initial: float, cap: float) -> None:
        self.initial = initial
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return delay(self.initial, self.cap, self.failures)

    def reset(self) -> None:
        self.failures = 0
