"""The distributions the edge serves, with their configuration exactly as the API was given it.

Moto keeps ids, ETags and status but drops parts of a configuration (origin access control ids,
custom error responses, forwarded values); the provider records every configuration it accepts
here, answers it back from here, and the edge serves from here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Distribution:
    account_id: str
    distribution_id: str
    domain_name: str
    config: dict[str, Any]


class DistributionRegistry:
    """Thread-safe distributions by id (case-insensitive, as host names are) and domain name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, Distribution] = {}

    def put(self, distribution: Distribution) -> None:
        with self._lock:
            self._by_id[distribution.distribution_id.lower()] = distribution

    def remove(self, distribution_id: str) -> None:
        with self._lock:
            self._by_id.pop(distribution_id.lower(), None)

    def any(self) -> bool:
        with self._lock:
            return bool(self._by_id)

    def all(self) -> list[Distribution]:
        with self._lock:
            return list(self._by_id.values())

    def by_id(self, distribution_id: str) -> Distribution | None:
        with self._lock:
            return self._by_id.get(distribution_id.lower())

    def by_domain_name(self, domain_name: str) -> Distribution | None:
        wanted = domain_name.lower().rstrip(".")
        with self._lock:
            return next((d for d in self._by_id.values() if d.domain_name == wanted), None)


DISTRIBUTIONS = DistributionRegistry()
