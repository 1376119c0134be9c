"""Waiting in tests for what happens asynchronously (queues, Lambdas, background threads)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def eventually(
    check: Callable[[], T | None], what: str, seconds: float = 60, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy, failing with ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(interval)
