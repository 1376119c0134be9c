"""The brokers the outbox relay publishes to: the ``Publisher`` port on SNS, SQS FIFO and
EventBridge, ten records per call, each record's entry id being its outbox position."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.orders.ports import BrokerUnavailable, OutboxRecord, PublishOutcome
from shared.contracts import ORDERS_SOURCE
from shared.envelope import Envelope, MalformedMessage, parse_envelope


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
