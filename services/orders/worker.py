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

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.orders.application import UnknownOrder
from shared.envelope import Envelope, MalformedMessage, parse_envelope
from shared.settings import AwsSettings

log = logging.getLogger("orders.worker")

ApplyReply = Callable[[Envelope], None]


class WorkerSettings(BaseSettings):
    """Tuning of the worker (``ORDERS_WORKER_*``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_WORKER_")

    wait_seconds: int = Field(default=5, ge=0, le=20)
    """Long-poll wait; also the longest a stop request waits for the poll in flight."""
    transient_retry_seconds: int = Field(default=2, ge=0, le=43200)
    backoff_max_seconds: float = Field(default=10.0, gt=0)


def worker_client(aws: AwsSettings, settings: WorkerSettings) -> Any:
    """An SQS client whose read timeout outlasts the long poll."""
    return boto3.client(
        "sqs",
        region_name=aws.aws_region,
        endpoint_url=aws.aws_endpoint_url,
        config=Config(
            connect_timeout=2,
            read_timeout=settings.wait_seconds + 10,
            retries={"mode": "standard", "max_attempts": 2},
        ),
    )


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
        failures = 0
        log.info("worker started on %s", self.queue_url)
        while not stop.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as error:
                delay = min(self.settings.backoff_max_seconds, 0.2 * 2.0**failures)
                failures += 1
                log.warning("cannot receive order updates (%s); retrying in %.1fs", error, delay)
                stop.wait(delay)
                continue
            failures = 0
        log.info("worker stopped")
