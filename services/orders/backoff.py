"""Exponential backoff with jitter: the one shape of every retry of the orders service (the
relay's loop and its refused records, the worker's loop, its store probes and the visibility of
a failed message, the projector's loop).

The ceiling after ``n`` failures in a row is ``initial * 2**(n-1)``, capped; the delay is drawn
below it: ``ceiling * (1 - jitter * r)`` with ``r`` uniform in [0, 1). ``jitter=1`` is full jitter
(anywhere in [0, ceiling)), which spreads retries of many clients best; ``jitter=0.5`` keeps at
least half the ceiling, for a delay whose sum over retries must reach a known floor (the
worker's visibility backoff, see ``services.orders.worker``).
"""

from __future__ import annotations

import random
from collections.abc import Callable

Random = Callable[[], float]
"""A source of numbers uniform in [0, 1): ``random.random`` unless a test gives its own."""

FULL_JITTER = 1.0


def ceiling(initial: float, cap: float, failures: int) -> float:
    """The longest wait after ``failures`` failures in a row (``initial`` after the first)."""
    return float(min(cap, initial * 2.0 ** max(0, failures - 1)))


class Backoff:
    """Counts failures in a row; ``next_delay`` after each, ``reset`` after a success."""

    def __init__(
        self,
        initial: float,
        cap: float,
        *,
        jitter: float = FULL_JITTER,
        random_source: Random = random.random,
    ) -> None:
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"jitter must be within [0, 1], not {jitter}")
        self.initial = initial
        self.cap = cap
        self.jitter = jitter
        self.random_source = random_source
        self.failures = 0

    def delay_after(self, failures: int) -> float:
        """A delay for the ``failures``-th failure in a row, drawn below its ceiling."""
        top = ceiling(self.initial, self.cap, failures)
        return top * (1.0 - self.jitter * self.random_source())

    def floor_after(self, failures: int) -> float:
        """The shortest delay ``delay_after(failures)`` can return."""
        return ceiling(self.initial, self.cap, failures) * (1.0 - self.jitter)

    def next_delay(self) -> float:
        self.failures += 1
        return self.delay_after(self.failures)

    def reset(self) -> None:
        self.failures = 0
