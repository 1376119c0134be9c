"""The order-updates worker: applies the replies of the other services to orders.

It long-polls the ``order-updates`` queue (body = the envelope JSON), applies each reply and
deletes what it applied, in one batch call. A message it cannot read or apply (``MalformedMessage``,
``UnknownOrder``) is logged and left alone: it comes back after the visibility timeout and, once
the queue's ``maxReceiveCount`` is reached, its redrive policy moves it to the dead-letter queue,
so poison never loops.

Any other failure is retried, and must not send a good reply to the dead-letter queue:

- **The store is down** (the failure happened and the store's probe fails too): a circuit
  breaker (``services.orders.breaker``) opens. The worker stops receiving, so no message's
  receive count grows while the store is away, however long; it probes the store with a
  jittered backoff (``ORDERS_WORKER_PROBE_INITIAL_SECONDS`` doubling up to
  ``ORDERS_WORKER_BACKOFF_MAX_SECONDS``), then receives one message (half-open) and, once that
  applies, resumes. An outage costs each message at most the one receive it was in when the
  store went away (the rest of that batch is put back untried), so it survives with any
  ``maxReceiveCount`` of 2 or more (the test profile's 2 included).
- **Any other failure** (the store answers: a bug, say): the message is made visible again after
  ``retry_initial_seconds * 2**(n-1)`` (capped at ``retry_max_seconds``) after its ``n``-th
  receive, jittered down to no less than half of that. With the defaults (10 s, 300 s) and the
  production ``maxReceiveCount`` of 5, the fifth receive comes at least
  5 + 10 + 20 + 40 = 75 s after the first: a failure lasting 60 s is outlived even when the
  probe cannot see it.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.orders.backoff import Backoff, Random
from services.orders.breaker import BreakerState, CircuitBreaker, Probe
from services.orders.service import UnknownOrder
from services.orders.settings import WorkerSettings
from shared.envelope import Envelope, MalformedMessage, parse_envelope

log = logging.getLogger("orders.worker")

ApplyReply = Callable[[Envelope], None]

MAX_MESSAGES = 10
RETRY_JITTER = 0.5
"""The visibility of a failed message keeps at least half its ceiling (the floor above)."""


@dataclass
class BatchOutcome:
    applied: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    paused: bool = False
    """Nothing was received: the store is down (the breaker is open)."""


class OrderUpdatesWorker:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        apply_reply: ApplyReply,
        settings: WorkerSettings | None = None,
        *,
        store_probe: Probe,
        random_source: Random = random.random,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.apply_reply = apply_reply
        self.settings = settings or WorkerSettings()
        self.random_source = random_source
        self.retry_visibility = Backoff(
            self.settings.retry_initial_seconds,
            self.settings.retry_max_seconds,
            jitter=RETRY_JITTER,
            random_source=random_source,
        )
        self.breaker = CircuitBreaker(
            "the orders database",
            store_probe,
            Backoff(
                self.settings.probe_initial_seconds,
                self.settings.backoff_max_seconds,
                random_source=random_source,
            ),
        )

    def poll_once(self, wait_seconds: int | None = None) -> BatchOutcome:
        """Receive up to 10 messages (long poll; one while the breaker is half-open), apply
        them in order, delete the applied. While the breaker is open, probe the store instead
        and receive nothing unless it answers."""
        if self.breaker.is_open and not self.breaker.try_probe():
            return BatchOutcome(paused=True)
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1 if self.breaker.state is BreakerState.HALF_OPEN else MAX_MESSAGES,
            WaitTimeSeconds=self.settings.wait_seconds if wait_seconds is None else wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        outcome = BatchOutcome()
        done: list[dict[str, str]] = []
        for index, message in enumerate(messages):
            message_id = message["MessageId"]
            try:
                self.apply_reply(parse_envelope(message["Body"]))
            except (MalformedMessage, UnknownOrder) as error:
                log.error(
                    "order-updates message %s (receive %d) cannot be applied, left for the "
                    "dead-letter queue: %s: %s",
                    message_id,
                    _receive_count(message),
                    type(error).__name__,
                    error,
                )
                outcome.rejected.append(message_id)
                continue
            except Exception as error:
                if self.breaker.store_is_down():
                    self.breaker.open(f"{type(error).__name__}: {error}")
                    self._retry_later(messages[index:], outcome)
                    break
                log.exception("order-updates message %s failed", message_id)
                self._retry_later([message], outcome)
                continue
            outcome.applied.append(message_id)
            done.append({"Id": str(len(done)), "ReceiptHandle": message["ReceiptHandle"]})
        if outcome.applied:
            self.breaker.succeeded()
        if done:
            self._delete(done)
        return outcome

    def retry_visibility_after(self, receive_count: int) -> int:
        """The visibility timeout of a message that failed at its ``receive_count``-th
        receive (whole seconds, rounded up)."""
        return math.ceil(self.retry_visibility.delay_after(receive_count))

    def _retry_later(self, messages: Sequence[Mapping[str, Any]], outcome: BatchOutcome) -> None:
        for message in messages:
            visibility = self.retry_visibility_after(_receive_count(message))
            log.warning(
                "order-updates message %s (receive %d) not applied; visible again in %ds",
                message["MessageId"],
                _receive_count(message),
                visibility,
            )
            outcome.retried.append(message["MessageId"])
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=visibility,
                )
            except (BotoCoreError, ClientError) as error:
                log.warning("cannot set the visibility of a failed message: %s", error)

    def _delete(self, entries: list[dict[str, str]]) -> None:
        response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        for failure in response.get("Failed", []):
            # Applying again is harmless (idempotent on event_id): it is redelivered and deleted.
            log.warning("could not delete an applied message: %s", failure)

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; while the store is down, probe it with backoff instead;
        back off (capped) while the queue is unreachable."""
        unreachable = Backoff(
            0.2, self.settings.backoff_max_seconds, random_source=self.random_source
        )
        log.info("worker started on %s", self.queue_url)
        while not stop.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as error:
                wait = unreachable.next_delay()
                log.warning("cannot receive order updates (%s); retrying in %.1fs", error, wait)
                stop.wait(wait)
                continue
            unreachable.reset()
            if self.breaker.is_open:
                stop.wait(self.breaker.next_delay())
        log.info("worker stopped")


def _receive_count(message: Mapping[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
