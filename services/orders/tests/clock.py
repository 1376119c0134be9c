"""A clock for tests: it moves only when the test says so."""

from __future__ import annotations


class ManualClock:
    """Seconds on a monotonic scale, like ``time.monotonic``; ``advance`` moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
