"""The order-updates worker: applies the replies of the other services to orders.

It long-polls the ``order-updates`` queue (body = the envelope JSON), applies each reply and
deletes what it applied, in one batch call. A message it cannot read or apply (``MalformedMessage``,
``UnknownOrder``) is logged and left alone: it comes back after the visibility timeout and, once
the queue's ``maxReceiveCount`` is reached, its redrive policy moves it to the dead-letter queue,
so poison never loops. Other failures (the database is down, say) are transient: the message is
made visible again after a short backoff and retried.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.orders.backoff import Backoff
from services.orders.service import UnknownOrder
from services.orders.settings import WorkerSettings
from shared.envelope import Envelope, MalformedMessage, parse_envelope

log = logging.getLogger("orders.worker")

ApplyReply = Callable[[Envelope], None]


@dataclass
class BatchOutcome:
    applied: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)


class OrderUpdatesWorker:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        apply_reply: ApplyReply,
        settings: WorkerSettings | None = None,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.apply_reply = apply_reply
        self.settings = settings or WorkerSettings()

    def poll_once(self, wait_seconds: int | None = None) -> BatchOutcome:
        """Receive up to 10 messages (long poll), apply them in order, delete the applied."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.settings.wait_seconds if wait_seconds is None else wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        outcome = BatchOutcome()
        done: list[dict[str, str]] = []
        for message in response.get("Messages", []):
            message_id = message["MessageId"]
            try:
                self.apply_reply(parse_envelope(message["Body"]))
            except (MalformedMessage, UnknownOrder) as error:
                log.error(
                    "order-updates message %s (receive %s) cannot be applied, left for the "
                    "dead-letter queue: %s: %s",
                    message_id,
                    message.get("Attributes", {}).get("ApproximateReceiveCount", "?"),
                    type(error).__name__,
                    error,
                )
                outcome.rejected.append(message_id)
                continue
            except Exception:
                log.exception(
                    "order-updates message %s failed; retrying in %ss",
                    message_id,
                    self.settings.transient_retry_seconds,
                )
                self._retry_soon(message["ReceiptHandle"])
                outcome.retried.append(message_id)
                continue
            outcome.applied.append(message_id)
            done.append({"Id": str(len(done)), "ReceiptHandle": message["ReceiptHandle"]})
        if done:
            self._delete(done)
        return outcome

    def _retry_soon(self, receipt_handle: str) -> None:
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=self.settings.transient_retry_seconds,
            )
        except (BotoCoreError, ClientError) as error:
            log.warning("cannot shorten the visibility of a failed message: %s", error)

    def _delete(self, entries: list[dict[str, str]]) -> None:
        response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        for failure in response.get("Failed", []):
            # Applying again is harmless (idempotent on event_id): it is redelivered and deleted.
            log.warning("could not delete an applied message: %s", failure)

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; back off (capped) while the queue is unreachable."""
        backoff = Backoff(0.2, self.settings.backoff_max_seconds)
        log.info("worker started on %s", self.queue_url)
        while not stop.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as error:
                wait = backoff.next_delay()
                log.warning("cannot receive order updates (%s); retrying in %.1fs", error, wait)
                stop.wait(wait)
                continue
            backoff.reset()
        log.info("worker stopped")
