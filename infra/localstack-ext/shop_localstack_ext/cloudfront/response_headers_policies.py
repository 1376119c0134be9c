"""The response headers policies the control plane has created, as the API was given them.

Moto has no response headers policies; the provider keeps them here and the edge applies the one
a cache behaviour names to that behaviour's viewer responses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ResponseHeadersPolicy:
    account_id: str
    policy_id: str
    etag: str
    last_modified: datetime
    config: dict[str, Any]


class ResponseHeadersPolicyRegistry:
    """Thread-safe policies by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, ResponseHeadersPolicy] = {}

    def put(self, policy: ResponseHeadersPolicy) -> None:
        with self._lock:
            self._by_id[policy.policy_id] = policy

    def remove(self, policy_id: str) -> None:
        with self._lock:
            self._by_id.pop(policy_id, None)

    def get(self, policy_id: str) -> ResponseHeadersPolicy | None:
        with self._lock:
            return self._by_id.get(policy_id)

    def of_account(self, account_id: str) -> list[ResponseHeadersPolicy]:
        with self._lock:
            return [p for p in self._by_id.values() if p.account_id == account_id]

    def configs(self) -> dict[str, dict[str, Any]]:
        """Every policy's configuration by id, as the edge looks them up."""
        with self._lock:
            return {policy_id: p.config for policy_id, p in self._by_id.items()}


RESPONSE_HEADERS_POLICIES = ResponseHeadersPolicyRegistry()
