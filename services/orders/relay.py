"""The outbox relay: publishes outbox records in order per stream, at least once.

Records are claimed per destination with a lease (``locked_until``), so several relays share the
work without publishing a record twice while its lease runs. Order per stream (order id) and
destination holds across relays: a claim skips every stream that has an earlier record leased by
someone else (claims are serialised per destination: a transaction-scoped advisory lock on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), and a relay publishes one record per stream per call,
moving to a stream's next record only after the broker accepted the previous one.

A record is marked sent only after the broker accepted it, so a crash in between publishes it
again (consumers dedupe by ``event_id``). A record the broker refused is leased for an
exponentially growing while (its stream waits behind it); when the broker cannot be reached at all
the claimed records are released and the relay backs off, up to a cap, losing nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, func, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from services.orders.adapters.event_store import (
    OutboxRecord,
    SqlEventStore,
    _outbox_record,
    outbox_table,
)
from services.orders.config import OrdersSettings
from shared.contracts import ORDERS_SOURCE
from shared.envelope import Envelope, MalformedMessage, parse_envelope
from shared.settings import AwsSettings

log = logging.getLogger("orders.relay")

MAX_ENTRIES_PER_CALL = 10
SNS, BUS, FIFO = "sns", "bus", "fifo"


class RelaySettings(BaseSettings):
    """Tuning of the relay (``ORDERS_RELAY_*``); the defaults favour low latency."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_RELAY_")

    idle_interval_seconds: float = Field(default=0.05, gt=0, le=60)
    claim_size: int = Field(default=100, ge=1, le=1000)
    lease_seconds: float = Field(default=30.0, gt=0)
    backoff_initial_seconds: float = Field(default=0.2, gt=0)
    backoff_max_seconds: float = Field(default=10.0, gt=0)
    status_interval_seconds: float = Field(default=30.0, gt=0)
    publish_concurrency: int = Field(default=8, ge=1, le=64)


class BrokerUnavailable(RuntimeError):
    """The broker could not be reached or refused the whole call; nothing of it counts as sent."""


@dataclass(frozen=True)
class PublishOutcome:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


class Publisher(Protocol):
    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        """Publish up to ``MAX_ENTRIES_PER_CALL`` records in one call; raise
        ``BrokerUnavailable`` when the call as a whole failed."""


def _envelopes(
    records: Sequence[OutboxRecord],
) -> tuple[list[tuple[OutboxRecord, Envelope]], dict[int, str]]:
    """The records whose body is a valid envelope, and why the others are not."""
    readable: list[tuple[OutboxRecord, Envelope]] = []
    unreadable: dict[int, str] = {}
    for record in records:
        try:
            readable.append((record, parse_envelope(dict(record.body))))
        except MalformedMessage as error:
            unreadable[record.position] = str(error)
    return readable, unreadable


def _call(operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    try:
        return operation(**kwargs)
    except (BotoCoreError, ClientError) as error:
        raise BrokerUnavailable(f"{type(error).__name__}: {error}") from error


def _batch_outcome(response: Mapping[str, Any], unreadable: dict[int, str]) -> PublishOutcome:
    """Outcome of an SNS PublishBatch or SQS SendMessageBatch (entry ids are positions)."""
    failed = dict(unreadable)
    for entry in response.get("Failed", []):
        failed[int(entry["Id"])] = f"{entry.get('Code')}: {entry.get('Message')}"
    return PublishOutcome(
        sent=[int(entry["Id"]) for entry in response.get("Successful", [])], failed=failed
    )


class SnsPublisher:
    """Orders' own events to the fan-out topic, with ``type``/``version`` attributes."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        readable, unreadable = _envelopes(records)
        if not readable:
            return PublishOutcome(failed=unreadable)
        response = _call(
            self.sns.publish_batch,
            TopicArn=self.topic_arn,
            PublishBatchRequestEntries=[
                {
                    "Id": str(record.position),
                    "Message": envelope.to_json(),
                    "MessageAttributes": {
                        "type": {"DataType": "String", "StringValue": envelope.type},
                        "version": {"DataType": "String", "StringValue": str(envelope.version)},
                    },
                }
                for record, envelope in readable
            ],
        )
        return _batch_outcome(response, unreadable)


class FifoPublisher:
    """Payment commands to the FIFO queue: group = the record's group id, dedup = event id."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        readable, unreadable = _envelopes(records)
        entries = []
        for record, envelope in readable:
            group = record.group_id or envelope.correlation_id
            entries.append(
                {
                    "Id": str(record.position),
                    "MessageBody": envelope.to_json(),
                    "MessageGroupId": group,
                    "MessageDeduplicationId": str(envelope.event_id),
                    "MessageAttributes": {
                        "type": {"DataType": "String", "StringValue": envelope.type},
                        "version": {"DataType": "String", "StringValue": str(envelope.version)},
                    },
                }
            )
        if not entries:
            return PublishOutcome(failed=unreadable)
        response = _call(self.sqs.send_message_batch, QueueUrl=self.queue_url, Entries=entries)
        return _batch_outcome(response, unreadable)


class BusPublisher:
    """Every domain event to the EventBridge bus: source ``shop.orders``, detail-type = type."""

    def __init__(self, events: Any, bus_name: str) -> None:
        self.events = events
        self.bus_name = bus_name

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        readable, unreadable = _envelopes(records)
        if not readable:
            return PublishOutcome(failed=unreadable)
        response = _call(
            self.events.put_events,
            Entries=[
                {
                    "EventBusName": self.bus_name,
                    "Source": ORDERS_SOURCE,
                    "DetailType": envelope.type,
                    "Detail": envelope.to_json(),
                }
                for _, envelope in readable
            ],
        )
        outcome = PublishOutcome(failed=dict(unreadable))
        for (record, _), entry in zip(readable, response.get("Entries", []), strict=True):
            if entry.get("ErrorCode"):
                outcome.failed[record.position] = (
                    f"{entry['ErrorCode']}: {entry.get('ErrorMessage')}"
                )
            else:
                outcome.sent.append(record.position)
        return outcome


def relay_client(service: str, aws: AwsSettings) -> Any:
    """A client for the relay: short timeouts and a single attempt (the relay does the
    retrying, with its own backoff), a pool large enough for concurrent calls."""
    return boto3.client(
        service,
        region_name=aws.aws_region,
        endpoint_url=aws.aws_endpoint_url,
        config=Config(
            connect_timeout=2,
            read_timeout=10,
            retries={"mode": "standard", "max_attempts": 1},
            max_pool_connections=20,
        ),
    )


def publishers_for(settings: OrdersSettings, aws: AwsSettings) -> dict[str, Publisher]:
    """The production routing: destination name of the outbox record -> publisher."""
    return {
        SNS: SnsPublisher(relay_client("sns", aws), settings.topic_arn),
        BUS: BusPublisher(relay_client("events", aws), settings.event_bus_name),
        FIFO: FifoPublisher(relay_client("sqs", aws), settings.payments_queue_url),
    }


def stream_of(record: OutboxRecord) -> str:
    """The stream a record belongs to: the envelope's correlation id (the order id)."""
    correlation = record.body.get("correlation_id")
    if isinstance(correlation, str) and correlation:
        return correlation
    return record.group_id or f"#{record.position}"


def _lock_key(destination: str) -> int:
    return 0x0_0D_E5_00_00_00_00 + zlib.crc32(destination.encode())


def claim_in_stream_order(
    engine: Engine, destinations: Sequence[str], limit: int, lease: timedelta
) -> dict[str, list[OutboxRecord]]:
    """Lease up to ``limit`` unsent records of each destination, oldest first, leaving out every
    stream that has an earlier record leased by another relay (or waiting for a retry). One
    short transaction for all destinations."""
    now = datetime.now(UTC)
    unsent = outbox_table.c.sent_at.is_(None)
    claims: dict[str, list[OutboxRecord]] = {destination: [] for destination in destinations}
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for key in sorted({_lock_key(destination) for destination in destinations}):
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        leased = conn.execute(
            select(outbox_table).where(
                unsent,
                outbox_table.c.destination.in_(list(destinations)),
                outbox_table.c.locked_until >= now,
            )
        ).all()
        blocked = {destination: set[str]() for destination in destinations}
        for row in leased:
            record = _outbox_record(row._mapping)
            blocked[record.destination].add(stream_of(record))
        for destination, claimed in claims.items():
            candidates = conn.execute(
                select(outbox_table)
                .where(
                    unsent,
                    outbox_table.c.destination == destination,
                    or_(outbox_table.c.locked_until.is_(None), outbox_table.c.locked_until < now),
                )
                .order_by(outbox_table.c.position)
                .limit(limit * 4)
            ).all()
            for row in candidates:
                record = _outbox_record(row._mapping)
                if stream_of(record) in blocked[destination]:
                    continue
                claimed.append(record)
                if len(claimed) == limit:
                    break
        positions = [record.position for claimed in claims.values() for record in claimed]
        if positions:
            conn.execute(
                update(outbox_table)
                .where(outbox_table.c.position.in_(positions))
                .values(locked_until=now + lease, attempts=outbox_table.c.attempts + 1)
            )
    return claims


def _release(engine: Engine, positions: Iterable[int], until: datetime | None = None) -> None:
    """Give records back: claimable again at ``until`` (at once when None)."""
    wanted = list(positions)
    if not wanted:
        return
    with engine.begin() as conn:
        conn.execute(
            update(outbox_table)
            .where(outbox_table.c.position.in_(wanted), outbox_table.c.sent_at.is_(None))
            .values(locked_until=until)
        )


def in_waves(records: Sequence[OutboxRecord]) -> list[list[OutboxRecord]]:
    """Split records (in position order) so that each wave holds at most one record per
    stream and a stream's n-th record is in wave n."""
    waves: list[list[OutboxRecord]] = []
    seen: dict[str, int] = {}
    for record in records:
        stream = stream_of(record)
        index = seen.get(stream, 0)
        seen[stream] = index + 1
        if index == len(waves):
            waves.append([])
        waves[index].append(record)
    return waves


@dataclass(frozen=True)
class DestinationStatus:
    backlog: int
    lag_seconds: float


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

    def describe(self) -> str:
        parts = [
            f"{name}={status.backlog} (lag {status.lag_seconds:.1f}s)"
            for name, status in sorted(self.destinations.items())
        ]
        return f"outbox backlog {self.backlog}, lag {self.lag_seconds:.1f}s" + (
            ": " + ", ".join(parts) if parts else ""
        )


def outbox_status(engine: Engine, destinations: Iterable[str] | None = None) -> OutboxStatus:
    """Backlog (unsent count) and lag (age of the oldest unsent record) per destination."""
    query = (
        select(
            outbox_table.c.destination,
            func.count(),
            func.min(outbox_table.c.created_at),
        )
        .where(outbox_table.c.sent_at.is_(None))
        .group_by(outbox_table.c.destination)
    )
    wanted = None if destinations is None else list(destinations)
    if wanted is not None:
        query = query.where(outbox_table.c.destination.in_(wanted))
    now = datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    found = {
        name: DestinationStatus(
            backlog=int(count),
            lag_seconds=max(0.0, (now - _utc(oldest)).total_seconds()),
        )
        for name, count, oldest in rows
    }
    for name in wanted or ():
        found.setdefault(name, DestinationStatus(backlog=0, lag_seconds=0.0))
    return OutboxStatus(destinations=found)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Backoff:
    """Exponential delays from ``initial`` doubling up to ``cap``."""

    def __init__(self, initial: float, cap: float) -> None:
        self.initial = initial
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        delay: float = min(self.cap, self.initial * 2.0**self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class OutboxRelay:
    """Publishes the outbox of ``store`` through ``publishers`` (destination -> publisher).

    A pass claims records of every destination, then publishes them in waves (a stream's n-th
    record in wave n); the calls of a wave run concurrently, and what they published is marked
    sent before the next wave starts."""

    def __init__(
        self,
        store: SqlEventStore,
        publishers: Mapping[str, Publisher],
        settings: RelaySettings | None = None,
    ) -> None:
        self.store = store
        self.publishers = dict(publishers)
        self.settings = settings or RelaySettings()
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop the threads that publish concurrently (a later pass starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def relay_once(self) -> int:
        """One pass over every destination; returns how many records were published.
        Raises ``BrokerUnavailable`` (after releasing what it claimed) when a broker is down."""
        claims = claim_in_stream_order(
            self.store.engine,
            list(self.publishers),
            self.settings.claim_size,
            timedelta(seconds=self.settings.lease_seconds),
        )
        pending = {record.position for records in claims.values() for record in records}
        if not pending:
            return 0
        try:
            return self._publish(claims, pending)
        finally:
            # Records behind a refused one in their stream (or all, after an outage or a
            # crash of the pass): claimable again, in order.
            _release(self.store.engine, pending)

    def _publish(self, claims: Mapping[str, list[OutboxRecord]], pending: set[int]) -> int:
        waves = {destination: in_waves(records) for destination, records in claims.items()}
        held_back: dict[str, set[str]] = {destination: set() for destination in claims}
        published = 0
        for index in range(max(len(w) for w in waves.values())):
            calls: list[tuple[str, list[OutboxRecord]]] = []
            for destination, destination_waves in waves.items():
                if index >= len(destination_waves):
                    continue
                ready = [
                    r
                    for r in destination_waves[index]
                    if stream_of(r) not in held_back[destination]
                ]
                calls += [
                    (destination, ready[start : start + MAX_ENTRIES_PER_CALL])
                    for start in range(0, len(ready), MAX_ENTRIES_PER_CALL)
                ]
            outcomes, error = self._call_all(calls)
            sent = [position for outcome in outcomes.values() for position in outcome.sent]
            self.store.mark_sent(sent)
            pending.difference_update(sent)
            published += len(sent)
            for call_index, outcome in outcomes.items():
                destination, chunk = calls[call_index]
                if outcome.failed:
                    held_back[destination].update(
                        stream_of(r) for r in chunk if r.position in outcome.failed
                    )
                    self._retry_later(destination, chunk, outcome.failed)
                    pending.difference_update(outcome.failed)
            if error is not None:
                raise error
        return published

    def _call_all(
        self, calls: Sequence[tuple[str, list[OutboxRecord]]]
    ) -> tuple[dict[int, PublishOutcome], Exception | None]:
        """Every call's outcome (by index), and the first error, if a call raised one."""
        if len(calls) == 1:
            destination, chunk = calls[0]
            return {0: self.publishers[destination].publish(chunk)}, None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.settings.publish_concurrency, thread_name_prefix="relay-publish"
            )
        futures = [
            self._pool.submit(self.publishers[destination].publish, chunk)
            for destination, chunk in calls
        ]
        outcomes: dict[int, PublishOutcome] = {}
        error: Exception | None = None
        for index, future in enumerate(futures):
            try:
                outcomes[index] = future.result()
            except Exception as raised:
                error = error or raised
        return outcomes, error

    def _retry_later(
        self, destination: str, chunk: Sequence[OutboxRecord], failed: Mapping[int, str]
    ) -> None:
        now = datetime.now(UTC)
        for record in chunk:
            reason = failed.get(record.position)
            if reason is None:
                continue
            delay = min(
                self.settings.backoff_max_seconds,
                self.settings.backoff_initial_seconds * 2.0 ** max(0, record.attempts - 1),
            )
            log.error(
                "%s refused outbox record %d (stream %s, attempt %d): %s; retrying in %.1fs",
                destination,
                record.position,
                stream_of(record),
                record.attempts,
                reason,
                delay,
            )
            _release(self.store.engine, [record.position], now + timedelta(seconds=delay))

    def status(self) -> OutboxStatus:
        return outbox_status(self.store.engine, self.publishers)

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set: poll with a short idle interval, back off (capped)
        while a broker or the database is unreachable, log the backlog now and then."""
        backoff = Backoff(self.settings.backoff_initial_seconds, self.settings.backoff_max_seconds)
        next_report = time.monotonic()
        log.info("relay started for %s", ", ".join(self.publishers))
        while not stop.is_set():
            try:
                published = self.relay_once()
            except (BrokerUnavailable, SQLAlchemyError) as error:
                delay = backoff.next_delay()
                log.warning("relay cannot publish (%s); retrying in %.1fs", error, delay)
                stop.wait(delay)
                continue
            except Exception:
                delay = backoff.next_delay()
                log.exception("relay pass failed; retrying in %.1fs", delay)
                stop.wait(delay)
                continue
            if backoff.failures:
                log.info("relay publishing again")
            backoff.reset()
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + self.settings.status_interval_seconds
                self._report()
            if not published:
                stop.wait(self.settings.idle_interval_seconds)
        self.close()
        log.info("relay stopped")

    def _report(self) -> None:
        try:
            log.info("%s", self.status().describe())
        except SQLAlchemyError as error:
            log.warning("cannot read the outbox status: %s", error)


def describe_json(status: OutboxStatus) -> str:
    return json.dumps(
        {
            "backlog": status.backlog,
            "lag_seconds": round(status.lag_seconds, 3),
            "destinations": {
                name: {"backlog": d.backlog, "lag_seconds": round(d.lag_seconds, 3)}
                for name, d in sorted(status.destinations.items())
            },
        }
    )
