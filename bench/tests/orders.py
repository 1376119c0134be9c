"""Orders as the pipeline's load generator records them, for the tests."""

from __future__ import annotations

from typing import Any


def confirmed(index: int, posted: float, took: float, **extra: Any) -> dict[str, Any]:
    return {
        "index": index,
        "order_id": f"order-{index}",
        "recipient": f"r{index}@example.com",
        "screened": False,
        "posted_at": posted,
        "status": "confirmed",
        "confirmed_at": posted + took,
        "event_types": ["OrderPlaced", "OrderConfirmed"],
        "event_times": {"OrderPlaced": posted + 0.01, "OrderConfirmed": posted + took},
        **extra,
    }
