"""What the orders service needs from the world outside its domain, and the records it speaks.

- ``EventStore``: streams of events (one per order) appended with optimistic concurrency, each
  append writing its outbox messages (and a placement's idempotency key and access digest) in the
  same transaction;
- ``Outbox``: the messages waiting to be published, claimed by relays under a lease;
- ``Publisher``: a broker the relay hands records to (SNS, the payments FIFO queue, EventBridge);
- ``Catalogue``: the prices of the products.

``services.orders.adapters`` holds an SQL and an in-memory implementation of the first two; both
pass the one contract suite in ``services/orders/tests/contracts.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from services.orders.domain.money import Money


class Destination(StrEnum):
    """Where the relay publishes an outbox record."""

    SNS = "sns"
    """The order-events topic (fan-out to inventory, email and analytics)."""
    BUS = "bus"
    """The EventBridge bus (fraud screening, the archive)."""
    FIFO = "fifo"
    """The payments FIFO queue (payment commands, grouped by order)."""


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEvent:
    """An event to append; its stream version is assigned by ``append``."""

    type: str
    payload: Mapping[str, Any]
    schema_version: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    payload: Mapping[str, Any]
    metadata: Mapping[str, Any]
    recorded_at: datetime


@dataclass(frozen=True)
class OutboxMessage:
    """A message to publish; ``event_id`` links it to an event appended with it (optional).

    ``destination`` is a ``Destination``; tests that need an outbox of their own in a shared
    database use names of their own."""

    destination: str
    body: Mapping[str, Any]
    group_id: str | None = None
    event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class OutboxRecord:
    position: int
    event_position: int | None
    event_id: uuid.UUID | None
    destination: str
    body: Mapping[str, Any]
    group_id: str | None
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    parked_at: datetime | None = None
    park_reason: str | None = None
    """Why the broker refused it, when the relay parked it (``Outbox.park``)."""

    @property
    def stream(self) -> str:
        """The stream the record belongs to: the envelope's correlation id (the order id)."""
        correlation = self.body.get("correlation_id")
        if isinstance(correlation, str) and correlation:
            return correlation
        return self.group_id or f"#{self.position}"


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key for a placement, stored with the order it placed."""

    key: str
    request_fingerprint: str
    order_id: str


@dataclass(frozen=True)
class DestinationStatus:
    backlog: int
    """Unsent records, the parked ones among them."""
    lag_seconds: float
    parked: int = 0


@dataclass(frozen=True)
class OutboxStatus:
    """Unsent records per destination and the age of the oldest of them (the lag)."""

    destinations: dict[str, DestinationStatus]

    @property
    def backlog(self) -> int:
        return sum(d.backlog for d in self.destinations.values())

    @property
    def lag_seconds(self) -> float:
        return max((d.lag_seconds for d in self.destinations.values()), default=0.0)

    @property
    def parked(self) -> int:
        return sum(d.parked for d in self.destinations.values())

    def describe(self) -> str:
        parts = [
            f"{name}={status.backlog} (lag {status.lag_seconds:.1f}s"
            + (f", {status.parked} parked)" if status.parked else ")")
            for name, status in sorted(self.destinations.items())
        ]
        parked = f", {self.parked} parked" if self.parked else ""
        return f"outbox backlog {self.backlog}{parked}, lag {self.lag_seconds:.1f}s" + (
            ": " + ", ".join(parts) if parts else ""
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "backlog": self.backlog,
                "parked": self.parked,
                "lag_seconds": round(self.lag_seconds, 3),
                "destinations": {
                    name: {
                        "backlog": d.backlog,
                        "parked": d.parked,
                        "lag_seconds": round(d.lag_seconds, 3),
                    }
                    for name, d in sorted(self.destinations.items())
                },
            }
        )


@dataclass(frozen=True)
class PublishOutcome:
    """What a broker did with each record of a call (by position): ``sent``; ``failed`` for a
    reason of its own (throttled, an internal error: worth retrying as it is); ``rejected`` for
    a reason of the record's (invalid, too large: the same record fails the same way)."""

    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    rejected: dict[int, str] = field(default_factory=dict)


# --- errors --------------------------------------------------------------------------------


class ConcurrencyError(Exception):
    """The stream is not at the version the writer expected; nothing was written."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        actual = "unknown (lost a race)" if actual_version is None else str(actual_version)
        super().__init__(
            f"stream {stream_id!r}: expected version {expected_version}, found {actual}"
        )


class DuplicateEventError(Exception):
    """An event with this ``event_id`` is already recorded (a redelivered message); nothing
    was written."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        super().__init__(
            f"stream {stream_id!r}: an event with one of these ids is already recorded"
        )


class IdempotencyKeyTaken(Exception):
    """Another placement stored this idempotency key first; nothing was written."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} is already stored")


class BrokerUnavailable(RuntimeError):
    """The broker could not be reached or refused the whole call; nothing of it counts as sent."""


# --- ports ---------------------------------------------------------------------------------


class EventStore(Protocol):
    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        outbox: Sequence[OutboxMessage] = (),
        *,
        idempotency_key: IdempotencyKey | None = None,
        access_digest: str | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` after ``expected_version`` (0 for a new stream), queue ``outbox``
        messages, store ``idempotency_key`` and the stream's ``access_digest`` (the SHA-256 of
        its customer's access token, never part of an event), all or nothing. Raises
        ``ConcurrencyError``, ``DuplicateEventError`` when an ``event_id`` is already recorded,
        or ``IdempotencyKeyTaken``."""
        ...

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]: ...

    def read_all(self, after_position: int = 0, limit: int = 100) -> list[RecordedEvent]:
        """Events in global order."""
        ...

    def idempotency_key(self, key: str) -> IdempotencyKey | None: ...

    def access_digest(self, stream_id: str) -> str | None:
        """The access digest stored with the stream's first events (None: none, or no stream)."""
        ...


class Outbox(Protocol):
    def claim(
        self, destinations: Sequence[str], limit: int, lease: timedelta
    ) -> dict[str, list[OutboxRecord]]:
        """Lease up to ``limit`` unsent records of each destination, oldest first, leaving out
        every stream that has an earlier record leased by another relay (or waiting for a
        retry). Claims of concurrent relays never overlap. Each claim counts as an attempt;
        a claimed record's ``attempts`` are those before this claim."""
        ...

    def release(self, positions: Iterable[int], until: datetime | None = None) -> None:
        """Give unsent records back: claimable again at ``until`` (at once when None)."""
        ...

    def mark_sent(self, positions: Iterable[int]) -> None: ...

    def park(self, position: int, reason: str) -> None:
        """Set an unsent record aside with ``reason``: no claim takes it, and it holds back the
        later records of its stream in its destination, until an operator retries or discards
        it."""
        ...

    def parked(self, limit: int = 100) -> list[OutboxRecord]:
        """The parked records, oldest first."""
        ...

    def retry_parked(self, position: int) -> OutboxRecord | None:
        """Make a parked record claimable again, its attempts counted from zero; the record as
        it was parked (None: no parked record at ``position``)."""
        ...

    def discard_parked(self, position: int) -> OutboxRecord | None:
        """Retire a parked record unpublished (it stays in the table, discarded), releasing
        its stream; the record as it was parked (None: no parked record at ``position``)."""
        ...

    def status(self, destinations: Iterable[str] | None = None) -> OutboxStatus:
        """Backlog (parked records included), parked records and lag of every destination
        with unsent records (and of each of ``destinations``, zero when it has none)."""
        ...


class Publisher(Protocol):
    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        """Publish up to ten records in one call; raise ``BrokerUnavailable`` when the call as
        a whole failed."""
        ...


class Catalogue(Protocol):
    def prices_in(self, currency: str) -> Mapping[str, Money]:
        """Unit price of every product in ``currency``; a product without that price keeps one
        it has, so the domain can say which currency it is sold in."""
        ...
