"""Translation between the domain's records and the wire messages of ``shared.contracts``.

Recorded payloads are contract payloads. What a decision sends, and where:

- every event of ``shared.contracts.ORDER_EVENTS`` to ``Destination.SNS`` and ``Destination.BUS``
  (one message each);
- every payment command to ``Destination.FIFO``, ``group_id`` = order id.

The body of every outbox message is the envelope as a JSON object
(``Envelope.model_dump(mode="json")``). Replies of other services are recorded in the stream
under their own ``event_id`` and never republished.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.orders.domain import events as domain
from services.orders.domain.money import InvalidMoney, Money
from services.orders.ports import Destination, NewEvent, OutboxMessage, RecordedEvent
from shared import contracts
from shared.envelope import Envelope, MalformedMessage

REPLY_CONTRACTS: tuple[type[contracts.Contract], ...] = tuple(contracts.REPLY_SOURCES)
PUBLISHED_EVENTS = frozenset(model.__name__ for model in contracts.ORDER_EVENTS)
PAYMENT_COMMANDS = frozenset(model.__name__ for model in contracts.PAYMENT_COMMANDS)

DOMAIN_EVENTS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        domain.OrderPlaced,
        *domain.REPLY_TYPES,
        domain.OrderConfirmed,
        domain.OrderPutOnHold,
        domain.OrderReviewApproved,
        domain.OrderReviewRejected,
        domain.OrderCancelled,
        domain.LateReplyIgnored,
    )
}


@dataclass(frozen=True)
class ReceivedReply:
    """A reply of another service: the domain's reading, and the message as it came."""

    reply: domain.Reply
    envelope: Envelope
    payload: contracts.Contract


def to_wire(record: domain.Event | domain.PaymentCommand) -> contracts.Contract:
    """The contract payload of a domain event or payment command."""
    schema = contracts.SCHEMAS[type(record).__name__]
    return schema.model_validate(dataclasses.asdict(record))


def to_domain(type_name: str, payload: Mapping[str, Any]) -> domain.Event:
    """The domain event of a recorded or received payload (extra wire fields are dropped)."""
    cls = DOMAIN_EVENTS.get(type_name)
    if cls is None:
        raise MalformedMessage(f"{type_name!r} is not an event of the order stream")
    try:
        data = contracts.SCHEMAS[type_name].model_validate(payload).model_dump()
        values = {
            f.name: _domain_value(data[f.name]) for f in dataclasses.fields(cls) if f.name in data
        }
        event: domain.Event = cls(**values)
    except (ValidationError, InvalidMoney) as error:
        raise MalformedMessage(f"{type_name}: {error}") from error
    return event


def _domain_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return Money(value["amount"], value["currency"])
    if isinstance(value, dict) and {"sku", "quantity", "unit_price"} <= set(value):
        return domain.OrderLine(value["sku"], value["quantity"], _domain_value(value["unit_price"]))
    if isinstance(value, list | tuple):
        return tuple(_domain_value(item) for item in value)
    return value


def domain_history(recorded: Sequence[RecordedEvent]) -> list[domain.Event]:
    return [to_domain(event.type, event.payload) for event in recorded]


def read_reply(envelope: Envelope) -> ReceivedReply:
    """The reply an envelope carries; ``MalformedMessage`` for anything else."""
    payload = contracts.payload_of(envelope, *REPLY_CONTRACTS)
    reply = to_domain(envelope.type, payload.model_dump(mode="json"))
    if not isinstance(reply, domain.REPLY_TYPES):
        raise MalformedMessage(f"{envelope.type} is not a reply")
    return ReceivedReply(reply, envelope, payload)


def records_of(
    order_id: str,
    decision: Sequence[domain.Event | domain.PaymentCommand],
    *,
    cause_id: uuid.UUID,
    reply: ReceivedReply | None = None,
) -> tuple[list[NewEvent], list[OutboxMessage]]:
    """The events to append and the outbox messages to send for a decision."""
    new_events: list[NewEvent] = []
    outbox: list[OutboxMessage] = []
    for record in decision:
        if reply is not None and record is reply.reply:
            # recorded as received (extra wire fields kept), never republished
            new_events.append(_new_event(reply.envelope, reply.payload.model_dump(mode="json")))
            continue
        type_name = type(record).__name__
        envelope = Envelope(
            type=type_name,
            correlation_id=order_id,
            causation_id=cause_id,
            payload=to_wire(record).model_dump(mode="json"),
        )
        body = envelope.model_dump(mode="json")
        if type_name in PAYMENT_COMMANDS:
            outbox.append(OutboxMessage(Destination.FIFO, body, order_id, envelope.event_id))
            continue
        new_events.append(_new_event(envelope, envelope.payload))
        if type_name in PUBLISHED_EVENTS:
            outbox.append(OutboxMessage(Destination.SNS, body, None, envelope.event_id))
            outbox.append(OutboxMessage(Destination.BUS, body, None, envelope.event_id))
    return new_events, outbox


def _new_event(envelope: Envelope, payload: Mapping[str, Any]) -> NewEvent:
    return NewEvent(
        type=envelope.type,
        payload=payload,
        schema_version=envelope.version,
        metadata={
            "correlation_id": envelope.correlation_id,
            "causation_id": None if envelope.causation_id is None else str(envelope.causation_id),
            "occurred_at": envelope.occurred_at.isoformat(),
        },
        event_id=envelope.event_id,
    )
