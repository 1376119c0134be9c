"""Per-client rate limits: 429 ``Too many requests`` with ``Retry-After`` (whole seconds), as
problem+json, and nothing written.

- Order placement (``POST /api/orders``) is limited per client address, by
  ``PlacementRateLimit`` before the body is read.
- Requests with an operator's credential are limited per operator once the credential is known,
  and per client address while it is missing or wrong, so credentials cannot be guessed at speed
  (``services.orders.api.access`` asks ``RateLimits`` for both).

The client address is the entry the nearest trusted proxy appended to ``X-Forwarded-For``
(CloudFront and the local edge append the address they saw): with ``trusted_proxy_hops`` N it is
the N-th entry from the right, never a leftmost value the client wrote itself; with 0, or when
the header has fewer entries (a request that did not come through the proxies), it is the
socket's peer. The origin must therefore be reachable only through those proxies (on AWS it is a
private origin of the distribution).

The limits are per process: each API process counts its own clients. One API process runs here;
on AWS the web ACL's rate-based rule in front of the distribution is the limit all processes
share (``infra/cloudformation/topology/firewall.py``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.orders.api.problems import ApiProblem

Clock = Callable[[], float]
"""Seconds on a monotonic scale (``time.monotonic``)."""

TOO_MANY_REQUESTS = "Too many requests"


class SlidingWindow:
    """At most ``limit`` requests per key in any ``window`` seconds (a log of each key's recent
    requests), so request ``limit`` + 1 within a window is always refused. Time comes from
    ``clock``; the window is shared by threads."""

    def __init__(self, limit: int, window: float = 1.0, clock: Clock = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"a limit of {limit} per {window} s admits nothing")
        self.limit = limit
        self.window = window
        self.clock = clock
        self._admitted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept_at = clock()

    def take(self, key: str) -> float:
        """Count a request of ``key``: 0.0 when it is within the limit, else the seconds until
        it would be (the refused request is not counted)."""
        with self._lock:
            now = self.clock()
            self._forget_idle(now)
            admitted = self._recent(key, now)
            if len(admitted) < self.limit:
                admitted.append(now)
                self._admitted[key] = admitted
                return 0.0
            return admitted[0] + self.window - now

    def wait(self, key: str) -> float:
        """The seconds until a request of ``key`` would be admitted (0.0: now); counts nothing."""
        with self._lock:
            now = self.clock()
            admitted = self._recent(key, now)
            return 0.0 if len(admitted) < self.limit else admitted[0] + self.window - now

    def __len__(self) -> int:
        """How many keys are counted (a key idle for a whole window is forgotten)."""
        return len(self._admitted)

    def _recent(self, key: str, now: float) -> deque[float]:
        admitted = self._admitted.get(key, deque())
        while admitted and admitted[0] <= now - self.window:
            admitted.popleft()
        return admitted

    def _forget_idle(self, now: float) -> None:
        """Drop the keys idle for a whole window, at most once a window, so memory follows the
        clients of the last windows."""
        if now - self._swept_at < self.window:
            return
        self._swept_at = now
        idle = [
            key
            for key, admitted in self._admitted.items()
            if not admitted or admitted[-1] <= now - self.window
        ]
        for key in idle:
            del self._admitted[key]


def client_address(forwarded_for: Iterable[str], peer: str | None, trusted_proxy_hops: int) -> str:
    """The client's address: the ``X-Forwarded-For`` entry appended by the nearest of
    ``trusted_proxy_hops`` proxies (``forwarded_for`` holds the header's values in order), or
    ``peer`` without proxies or when the header has fewer entries than there are proxies."""
    if trusted_proxy_hops:
        entries = [
            entry.strip() for value in forwarded_for for entry in value.split(",") if entry.strip()
        ]
        if len(entries) >= trusted_proxy_hops:
            return entries[-trusted_proxy_hops]
    return peer or "unknown"


def retry_after(seconds: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


def too_many_requests(seconds: float, what: str) -> ApiProblem:
    wait = retry_after(seconds)
    return ApiProblem(
        429,
        TOO_MANY_REQUESTS,
        f"{what}; nothing was done. Retry after {wait} s.",
        headers={"Retry-After": wait},
    )


@dataclass(frozen=True)
class RateLimits:
    """The API's limits (``ORDERS_RATE_LIMIT_*``, built by ``services.orders.bootstrap``)."""

    placements: SlidingWindow
    operator_requests: SlidingWindow
    trusted_proxy_hops: int

    def client_of(self, scope: Scope) -> str:
        headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
        forwarded_for = [
            value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"
        ]
        peer = scope.get("client")
        return client_address(forwarded_for, peer[0] if peer else None, self.trusted_proxy_hops)

    def admit_placement(self, scope: Scope) -> None:
        """Raises a 429 ``ApiProblem`` when the client is over its placements."""
        waiting = self.placements.take(f"address:{self.client_of(scope)}")
        if waiting:
            raise too_many_requests(
                waiting,
                f"More than {self.placements.limit} order placements a second from your address",
            )

    def admit_unidentified(self, scope: Scope) -> None:
        """Before a credential is checked: a 429 when the client's address has used its
        operator requests on missing or wrong credentials (nothing is taken)."""
        waiting = self.operator_requests.wait(self._address_key(scope))
        if waiting:
            raise self._operator_problem(waiting, "from your address without a valid credential")

    def refuse_unidentified(self, scope: Scope) -> None:
        """Counts a missing or wrong credential against the client's address."""
        self.operator_requests.take(self._address_key(scope))

    def admit_operator(self, name: str) -> None:
        """Raises a 429 ``ApiProblem`` when operator ``name`` is over their requests."""
        waiting = self.operator_requests.take(f"operator:{name}")
        if waiting:
            raise self._operator_problem(waiting, f"by operator {name!r}")

    def _address_key(self, scope: Scope) -> str:
        return f"address:{self.client_of(scope)}"

    def _operator_problem(self, waiting: float, whose: str) -> ApiProblem:
        per_second = self.operator_requests.limit
        return too_many_requests(
            waiting, f"More than {per_second} operator requests a second {whose}"
        )


class PlacementRateLimit:
    """ASGI middleware: a 429 for an order placement over the client's limit, answered before the
    body is read, so it writes nothing (no event, outbox record or idempotency key). Every
    answer to a placement announces the limit as ``RateLimit-Policy: "placements";q=N;w=1``
    (the IETF draft's header: N requests per 1-second window)."""

    def __init__(self, app: ASGIApp, limits: RateLimits, path: str = "/api/orders") -> None:
        self.app = app
        self.limits = limits
        self.path = path
        self.policy = (b"ratelimit-policy", placement_policy(limits.placements.limit).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return

        async def announce_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.policy]}
            await send(message)

        try:
            self.limits.admit_placement(scope)
        except ApiProblem as problem:
            await problem.response(scope["path"])(scope, receive, announce_policy)
            return
        await self.app(scope, receive, announce_policy)


def placement_policy(limit: int) -> str:
    return f'"placements";q={limit};w=1'
