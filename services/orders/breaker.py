"""A circuit breaker around a store: stop taking work while it is down, probe it, go on when it
answers.

- closed: work flows; a failure of the store (the probe fails too) opens it;
- open: no work is taken; ``probe`` is tried after each ``next_delay`` (the backoff grows while it
  fails); when the store answers the breaker is half-open;
- half-open: one piece of work is tried; success closes the breaker (and resets the backoff), a
  store failure opens it again with the next, longer delay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from services.orders.backoff import Backoff

log = logging.getLogger("orders.breaker")

Probe = Callable[[], None]
"""Raises when the store cannot be used (for writing)."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(self, name: str, probe: Probe, backoff: Backoff) -> None:
        self.name = name
        self.probe = probe
        self.backoff = backoff
        self.state = BreakerState.CLOSED

    @property
    def is_open(self) -> bool:
        return self.state is BreakerState.OPEN

    def store_is_down(self) -> bool:
        """Whether the store fails its probe now (asked after a piece of work failed)."""
        try:
            self.probe()
        except Exception as error:
            log.debug("%s probe failed: %s", self.name, error)
            return True
        return False

    def open(self, reason: str) -> None:
        if self.state is BreakerState.CLOSED:
            log.warning("%s is down (%s): pausing until it answers", self.name, reason)
        self.state = BreakerState.OPEN

    def next_delay(self) -> float:
        """How long to wait before the next probe."""
        return self.backoff.next_delay()

    def try_probe(self) -> bool:
        """Probe the store of an open breaker: half-open when it answers."""
        if self.store_is_down():
            return False
        log.info("%s answers again: trying one piece of work", self.name)
        self.state = BreakerState.HALF_OPEN
        return True

    def succeeded(self) -> None:
        if self.state is not BreakerState.CLOSED:
            log.info("%s is back: resuming", self.name)
        self.state = BreakerState.CLOSED
        self.backoff.reset()
