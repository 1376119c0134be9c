"""The brokers the outbox relay publishes to: the ``Publisher`` port on SNS, SQS FIFO and
EventBridge, ten records per call, each record's entry id being its outbox position.

A failed entry is ``rejected`` when ``services.orders.adapters.aws_errors`` finds the request at
fault (the record: invalid, too large), else ``failed`` (retry it as it is); a record that is not
a valid envelope is rejected. A call refused as a whole for the request's fault (a batch too
large, say) is made again one record per call, so only the record at fault is rejected; any other
failure of a call (transient, or of the setup: credentials, permissions, a missing topic) raises
``BrokerUnavailable``: no record is to blame."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.orders.adapters.aws_errors import Fault, fault_of, fault_of_code
from services.orders.ports import BrokerUnavailable, OutboxRecord, PublishOutcome
from shared.contracts import ORDERS_SOURCE
from shared.envelope import Envelope, MalformedMessage, parse_envelope


def _envelopes(
    records: Sequence[OutboxRecord],
) -> tuple[list[tuple[OutboxRecord, Envelope]], dict[int, str]]:
    """The records whose body is a valid envelope of a size the brokers take, and why the
    others are not."""
    readable: list[tuple[OutboxRecord, Envelope]] = []
    unreadable: dict[int, str] = {}
    for record in records:
        try:
            envelope = parse_envelope(dict(record.body))
            envelope.to_json()  # raises for a message larger than any broker takes
            readable.append((record, envelope))
        except MalformedMessage as error:
            unreadable[record.position] = str(error)
    return readable, unreadable


Send = Callable[[list[tuple[OutboxRecord, Envelope]]], PublishOutcome]
"""One broker call for records with their envelopes (may raise botocore errors)."""


def _publish(records: Sequence[OutboxRecord], send: Send) -> PublishOutcome:
    """``send`` the readable records in one call, or one per call when the broker refuses the
    call as a whole for a permanent reason; reject the unreadable ones."""
    readable, unreadable = _envelopes(records)
    if not readable:
        return PublishOutcome(rejected=unreadable)
    try:
        outcome = send(readable)
    except (BotoCoreError, ClientError) as error:
        if fault_of(error) is not Fault.REQUEST:
            raise BrokerUnavailable(f"{type(error).__name__}: {error}") from error
        if len(readable) == 1:
            [(record, _)] = readable
            outcome = PublishOutcome(rejected={record.position: f"{type(error).__name__}: {error}"})
        else:
            outcome = _merged([_publish([record], send) for record, _ in readable])
    outcome.rejected.update(unreadable)
    return outcome


def _merged(outcomes: Sequence[PublishOutcome]) -> PublishOutcome:
    merged = PublishOutcome()
    for outcome in outcomes:
        merged.sent.extend(outcome.sent)
        merged.failed.update(outcome.failed)
        merged.rejected.update(outcome.rejected)
    return merged


def _batch_outcome(response: Mapping[str, Any]) -> PublishOutcome:
    """Outcome of an SNS PublishBatch or SQS SendMessageBatch (entry ids are positions)."""
    outcome = PublishOutcome(sent=[int(entry["Id"]) for entry in response.get("Successful", [])])
    for entry in response.get("Failed", []):
        reason = f"{entry.get('Code')}: {entry.get('Message')}"
        if fault_of_code(entry.get("Code"), entry.get("SenderFault")) is Fault.REQUEST:
            outcome.rejected[int(entry["Id"])] = reason
        else:
            outcome.failed[int(entry["Id"])] = reason
    return outcome


class SnsPublisher:
    """Orders' own events to the fan-out topic, with ``type``/``version`` attributes."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        return _publish(records, self._send)

    def _send(self, readable: list[tuple[OutboxRecord, Envelope]]) -> PublishOutcome:
        response = self.sns.publish_batch(
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
        return _batch_outcome(response)


class FifoPublisher:
    """Payment commands to the FIFO queue: group = the record's group id, dedup = event id."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        return _publish(records, self._send)

    def _send(self, readable: list[tuple[OutboxRecord, Envelope]]) -> PublishOutcome:
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
        response = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return _batch_outcome(response)


class BusPublisher:
    """Every domain event to the EventBridge bus: source ``shop.orders``, detail-type = type."""

    def __init__(self, events: Any, bus_name: str) -> None:
        self.events = events
        self.bus_name = bus_name

    def publish(self, records: Sequence[OutboxRecord]) -> PublishOutcome:
        return _publish(records, self._send)

    def _send(self, readable: list[tuple[OutboxRecord, Envelope]]) -> PublishOutcome:
        response = self.events.put_events(
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
        outcome = PublishOutcome()
        for (record, _), entry in zip(readable, response.get("Entries", []), strict=True):
            code = entry.get("ErrorCode")
            if not code:
                outcome.sent.append(record.position)
            elif fault_of_code(code) is Fault.REQUEST:
                outcome.rejected[record.position] = f"{code}: {entry.get('ErrorMessage')}"
            else:
                outcome.failed[record.position] = f"{code}: {entry.get('ErrorMessage')}"
        return outcome
