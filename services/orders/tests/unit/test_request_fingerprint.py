"""The digest that tells a replayed placement from another one under the same key."""

from __future__ import annotations

from services.orders.api.orders import request_fingerprint


def test_fingerprints_ignore_key_order_but_not_values() -> None:
    body = {"a": 1, "lines": [{"sku": "X", "quantity": 1}]}
    assert request_fingerprint(body) == request_fingerprint(dict(reversed(body.items())))
    assert request_fingerprint(body) != request_fingerprint({**body, "a": 2})
