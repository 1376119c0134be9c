"""The bare insert's row is as large as the OrderPlaced event the orders service stores."""

from __future__ import annotations

import json

from bench.placement import event_bytes


def test_event_size_is_its_payload_and_metadata_as_the_service_stores_them() -> None:
    event = {
        "type": "OrderPlaced",
        "payload": {"order_id": "o-1", "total": {"amount": 1200, "currency": "EUR"}},
        "correlation_id": "o-1",
        "causation_id": "5b0c8f3e-0d7a-4e0b-9d6c-2f1c3b8a9e10",
        "occurred_at": "2026-11-30T05:22:23.123456Z",
        "recorded_at": "2026-11-30T05:22:23.200000Z",
    }
    stored_metadata = {
        "correlation_id": "o-1",
        "causation_id": "5b0c8f3e-0d7a-4e0b-9d6c-2f1c3b8a9e10",
        "occurred_at": "2026-11-30T05:22:23.123456+00:00",
    }
    assert event_bytes(event) == len(json.dumps(event["payload"])) + len(
        json.dumps(stored_metadata)
    )
