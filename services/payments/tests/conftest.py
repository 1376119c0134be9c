from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.tests.bus_capture import BusCapture, capture_bus


@pytest.fixture
def payments_bus(
    localstack: Any, unique_name: str, queues: Callable[..., str]
) -> Iterator[BusCapture]:
    """A fresh bus whose ``shop.payments`` events land in a queue the test reads."""
    capture, cleanup = capture_bus(localstack, unique_name, "shop.payments", queues)
    yield capture
    cleanup()
