"""The outbox relay: publishes outbox records in order per stream, at least once.

Records are claimed per destination with a lease (see ``services.orders.ports.Outbox.claim``), so
several relays share the work, and a relay publishes one record per stream per call, moving to a
stream's next record only after the broker accepted the previous one.

A record is marked sent only after the broker accepted it, so a crash in between publishes it
again (consumers dedupe by ``event_id``). A record the broker failed (throttled, an internal
error) is leased for an exponentially growing, jittered while (its stream waits behind it); when
the broker cannot be reached at all the claimed records are released and the relay backs off,
up to a cap, losing nothing.

A record the broker rejects for a reason of its own (invalid, too large: see
``services.orders.adapters.aws_errors``) is retried the same way until its attempt
``ORDERS_RELAY_PARK_AFTER_ATTEMPTS``, then parked: logged, counted (``OutboxRecordsParked``)
and listed for operators (``GET /api/ops/outbox/parked``, ``outbox-status``). Its order's later
records to the same destination stay behind it, so a consumer never sees an order's events out
of order (a capture before its authorization, say); the operator retries it once the cause is
fixed, or discards it, which lets the stream go on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from services.orders.backoff import Backoff, Random
from services.orders.ports import (
    BrokerUnavailable,
    Outbox,
    OutboxRecord,
    OutboxStatus,
    Publisher,
    PublishOutcome,
)
from services.orders.settings import RelaySettings

log = logging.getLogger("orders.relay")

MAX_ENTRIES_PER_CALL = 10


class ParkedRecordsCounter(Protocol):
    """Where the relay counts the records it parks (``OutboxMetrics`` in CloudWatch)."""

    def records_parked(self, count: int) -> None: ...


def in_waves(records: Sequence[OutboxRecord]) -> list[list[OutboxRecord]]:
    """Split records (in position order) so that each wave holds at most one record per
    stream and a stream's n-th record is in wave n."""
    waves: list[list[OutboxRecord]] = []
    seen: dict[str, int] = {}
    for record in records:
        index = seen.get(record.stream, 0)
        seen[record.stream] = index + 1
        if index == len(waves):
            waves.append([])
        waves[index].append(record)
    return waves


class OutboxRelay:
    """Publishes ``outbox`` through ``publishers`` (destination -> publisher).

    A pass claims records of every destination, then publishes them in waves (a stream's n-th
    record in wave n); the calls of a wave run concurrently, and what they published is marked
    sent before the next wave starts."""

    def __init__(
        self,
        outbox: Outbox,
        publishers: Mapping[str, Publisher],
        settings: RelaySettings | None = None,
        *,
        metrics: ParkedRecordsCounter | None = None,
        random_source: Random = random.random,
    ) -> None:
        self.outbox = outbox
        self.publishers = dict(publishers)
        self.settings = settings or RelaySettings()
        self.metrics = metrics
        self.random_source = random_source
        self._pool: ThreadPoolExecutor | None = None

    def backoff(self) -> Backoff:
        """The relay's one backoff shape (full jitter), for its loop and its refused records."""
        return Backoff(
            self.settings.backoff_initial_seconds,
            self.settings.backoff_max_seconds,
            random_source=self.random_source,
        )

    def close(self) -> None:
        """Stop the threads that publish concurrently (a later pass starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def relay_once(self) -> int:
        """One pass over every destination; returns how many records were published.
        Raises ``BrokerUnavailable`` (after releasing what it claimed) when a broker is down."""
        claims = self.outbox.claim(
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
            self.outbox.release(pending)

    def drain(self) -> int:
        """Pass until a pass publishes nothing; how many records were published."""
        published = 0
        try:
            while count := self.relay_once():
                published += count
        finally:
            self.close()
        return published

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
                    r for r in destination_waves[index] if r.stream not in held_back[destination]
                ]
                calls += [
                    (destination, ready[start : start + MAX_ENTRIES_PER_CALL])
                    for start in range(0, len(ready), MAX_ENTRIES_PER_CALL)
                ]
            outcomes, error = self._call_all(calls)
            sent = [position for outcome in outcomes.values() for position in outcome.sent]
            self.outbox.mark_sent(sent)
            pending.difference_update(sent)
            published += len(sent)
            for call_index, outcome in outcomes.items():
                destination, chunk = calls[call_index]
                refused = outcome.failed | outcome.rejected
                if refused:
                    held_back[destination].update(r.stream for r in chunk if r.position in refused)
                    self._settle_refused(destination, chunk, outcome)
                    pending.difference_update(refused)
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

    def _settle_refused(
        self, destination: str, chunk: Sequence[OutboxRecord], outcome: PublishOutcome
    ) -> None:
        """Retry each refused record of ``chunk`` later, or park it (``parks``)."""
        now = datetime.now(UTC)
        backoff = self.backoff()
        parked = 0
        for record in chunk:
            attempt = record.attempts + 1
            rejected = outcome.rejected.get(record.position)
            reason = rejected or outcome.failed.get(record.position)
            if reason is None:
                continue
            if rejected is not None and parks(attempt, self.settings):
                log.error(
                    "%s rejected outbox record %d (stream %s) %d times: %s; parked: its stream"
                    " waits until an operator retries or discards it"
                    " (GET /api/ops/outbox/parked)",
                    destination,
                    record.position,
                    record.stream,
                    attempt,
                    reason,
                )
                self.outbox.park(record.position, reason)
                parked += 1
                continue
            wait = backoff.delay_after(attempt)
            log.error(
                "%s %s outbox record %d (stream %s, attempt %d): %s; retrying in %.1fs",
                destination,
                "failed" if rejected is None else "rejected",
                record.position,
                record.stream,
                attempt,
                reason,
                wait,
            )
            self.outbox.release([record.position], now + timedelta(seconds=wait))
        if parked and self.metrics is not None:
            self.metrics.records_parked(parked)

    def status(self) -> OutboxStatus:
        return self.outbox.status(self.publishers)

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set: poll with a short idle interval, back off (capped)
        while a broker or the database is unreachable, log the backlog now and then."""
        backoff = self.backoff()
        next_report = time.monotonic()
        log.info("relay started for %s", ", ".join(self.publishers))
        while not stop.is_set():
            try:
                published = self.relay_once()
            except (BrokerUnavailable, SQLAlchemyError) as error:
                wait = backoff.next_delay()
                log.warning("relay cannot publish (%s); retrying in %.1fs", error, wait)
                stop.wait(wait)
                continue
            except Exception:
                wait = backoff.next_delay()
                log.exception("relay pass failed; retrying in %.1fs", wait)
                stop.wait(wait)
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


def parks(attempt: int, settings: RelaySettings) -> bool:
    """Whether a record the broker rejected (for a reason of the record's) at its ``attempt``-th
    attempt is parked rather than retried: from attempt ``park_after_attempts`` on. A record
    the broker failed for a reason of its own (throttled, down) is always retried."""
    return attempt >= settings.park_after_attempts
