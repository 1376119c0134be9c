"""The edge cache: responses by cache key, each kept for the seconds its behaviour allows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from shop_localstack_ext.cloudfront.rules import invalidation_matches


@dataclass(frozen=True)
class CachedResponse:
    distribution_id: str
    path: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    seconds: int
    error: bool = False
    stored_at: float = field(default_factory=time.monotonic)

    def age(self) -> int:
        return int(time.monotonic() - self.stored_at)

    def fresh(self) -> bool:
        return time.monotonic() - self.stored_at < self.seconds


class EdgeCache:
    """Thread-safe; expired entries are dropped when they are looked up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, CachedResponse] = {}

    def get(self, key: str) -> CachedResponse | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry and not entry.fresh():
                del self._entries[key]
                return None
            return entry

    def put(self, key: str, entry: CachedResponse) -> None:
        with self._lock:
            self._entries[key] = entry

    def invalidate(self, distribution_id: str, paths: Iterable[str]) -> int:
        """Drop the distribution's entries that any invalidation path matches; say how many."""
        patterns = list(paths)
        with self._lock:
            doomed = [
                key
                for key, entry in self._entries.items()
                if entry.distribution_id.lower() == distribution_id.lower()
                and any(invalidation_matches(p, entry.path) for p in patterns)
            ]
            for key in doomed:
                del self._entries[key]
        return len(doomed)

    def drop_distribution(self, distribution_id: str) -> None:
        self.invalidate(distribution_id, ["/*"])


EDGE_CACHE = EdgeCache()
