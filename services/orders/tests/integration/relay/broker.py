"""A broker of the test's own for the relay tests: a topic, a FIFO queue and a bus, each with a
queue capturing what arrives, and outbox records to publish to them.

Each test routes its own uniquely named outbox destinations to them, so it never touches records
of other tests in a shared PostgreSQL database.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.orders.adapters.aws_clients import relay_client
from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.publishers import BusPublisher, FifoPublisher, SnsPublisher
from services.orders.ports import NewEvent, OutboxMessage, OutboxRecord, Publisher, PublishOutcome
from services.orders.settings import RelaySettings
from shared.envelope import Envelope
from shared.settings import AwsSettings
from shared.tests.polling import eventually

FAST = RelaySettings(
    idle_interval_seconds=0.02,
    lease_seconds=30,
    backoff_initial_seconds=0.1,
    backoff_max_seconds=0.4,
    status_interval_seconds=0.2,
)


@dataclass
class Broker:
    """A topic, a FIFO queue and a bus of this test, each with a queue capturing what arrives."""

    sqs: Any
    topic_arn: str
    topic_capture: str
    fifo_url: str
    bus_name: str
    bus_capture: str
    endpoint: str

    def aws(self, endpoint: str | None = None) -> AwsSettings:
        return AwsSettings(aws_endpoint_url=endpoint or self.endpoint)

    def publishers(self, suffix: str, endpoint: str | None = None) -> dict[str, Publisher]:
        aws = self.aws(endpoint)
        return {
            f"sns-{suffix}": SnsPublisher(relay_client("sns", aws), self.topic_arn),
            f"fifo-{suffix}": FifoPublisher(relay_client("sqs", aws), self.fifo_url),
            f"bus-{suffix}": BusPublisher(relay_client("events", aws), self.bus_name),
        }

    def receive(self, url: str, count: int) -> list[dict[str, Any]]:
        """Wait until ``count`` messages arrived (deleting them), then briefly for extras."""
        received: list[dict[str, Any]] = []

        def drain(wait: int) -> None:
            response = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            for message in response.get("Messages", []):
                received.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

        def arrived() -> bool:
            drain(1)
            return len(received) >= count

        eventually(arrived, f"{count} messages on {url}")
        drain(1)
        return received


def append_records(
    store: SqlEventStore,
    destinations: Sequence[str],
    order_id: str | None = None,
    count: int = 1,
) -> list[Envelope]:
    """Append ``count`` events to one order's stream, each with an outbox record for every
    destination (body = the envelope; group = order id)."""
    order_id = order_id or f"order-{uuid.uuid4()}"
    version = len(store.read_stream(order_id))
    envelopes = [
        Envelope(type="OrderNoted", correlation_id=order_id, payload={"n": version + n})
        for n in range(1, count + 1)
    ]
    store.append(
        order_id,
        version,
        [NewEvent(type=e.type, payload=e.payload, event_id=e.event_id) for e in envelopes],
        [
            OutboxMessage(
                destination=destination,
                body=e.model_dump(mode="json"),
                group_id=order_id,
                event_id=e.event_id,
            )
            for e in envelopes
            for destination in destinations
        ],
    )
    return envelopes


class Recording:
    """Wraps a publisher and remembers every call's records."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.calls: list[list[OutboxRecord]] = []
        self.lock = threading.Lock()

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        outcome = self.inner.publish(records)
        with self.lock:
            self.calls.append([r for r in records if r.position in outcome.sent])
        return outcome


def unique_suffix() -> str:
    return uuid.uuid4().hex[:10]
