"""Translation between domain records and wire messages, and what a decision puts in the
outbox."""

from __future__ import annotations

import uuid

import pytest

from services.orders.adapters.wire import (
    DOMAIN_EVENTS,
    ReceivedReply,
    records_of,
    to_domain,
    to_wire,
)
from services.orders.domain import events as domain
from services.orders.domain.money import Money
from shared import contracts
from shared.envelope import Envelope, MalformedMessage

ORDER = "order-1"
EUR = Money(1299, "EUR")
EXAMPLES: list[domain.Event] = [
    domain.OrderPlaced(
        ORDER, "a@example.com", "DE", (domain.OrderLine("MUG-001", 2, EUR),), Money(2598, "EUR")
    ),
    domain.InventoryReserved(ORDER),
    domain.InventoryRejected(ORDER, "no mugs"),
    domain.PaymentAuthorized(ORDER, "auth-1", Money(2598, "EUR")),
    domain.PaymentDeclined(ORDER, "insufficient funds"),
    domain.PaymentCaptured(ORDER, "auth-1", Money(2598, "EUR")),
    domain.PaymentVoided(ORDER, "auth-1"),
    domain.FraudCheckPassed(ORDER, 12),
    domain.FraudCheckSkipped(ORDER),
    domain.OrderFlaggedForReview(ORDER, 90, ("amount", "country")),
    domain.OrderConfirmed(ORDER, Money(2598, "EUR")),
    domain.OrderPutOnHold(ORDER, "flagged"),
    domain.OrderReviewApproved(ORDER, "ops"),
    domain.OrderReviewRejected(ORDER, "ops", "stolen card"),
    domain.OrderCancelled(ORDER, "changed my mind"),
    domain.LateReplyIgnored(ORDER, "PaymentAuthorized", "order is already cancelled"),
]


def test_every_event_of_the_stream_has_an_example() -> None:
    assert {type(event).__name__ for event in EXAMPLES} == set(DOMAIN_EVENTS)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: type(event).__name__)
def test_events_survive_the_round_trip_through_their_contract(event: domain.Event) -> None:
    wire = to_wire(event)
    assert type(wire) is contracts.SCHEMAS[type(event).__name__]
    assert to_domain(type(event).__name__, wire.model_dump(mode="json")) == event


def test_payment_commands_become_their_contracts() -> None:
    command = domain.AuthorizePayment(ORDER, Money(2598, "EUR"), "a@example.com", "tok_approve")
    assert to_wire(command).model_dump() == {
        "order_id": ORDER,
        "amount": {"amount": 2598, "currency": "EUR"},
        "customer_email": "a@example.com",
        "payment_token": "tok_approve",
    }


def test_wire_fields_the_domain_does_not_keep_are_dropped() -> None:
    payload = {"order_id": ORDER, "reason": "short", "short_skus": ["MUG-001"]}
    assert to_domain("InventoryRejected", payload) == domain.InventoryRejected(ORDER, "short")


@pytest.mark.parametrize(
    ("type_name", "payload", "words"),
    [
        ("AuthorizePayment", {}, "not an event of the order stream"),
        ("InventoryReserved", {"order_id": ""}, "InventoryReserved"),
        (
            "PaymentVoided",
            {"order_id": ORDER, "authorization_id": "a", "extra": 1},
            "Extra inputs",
        ),
        (
            "OrderConfirmed",
            {"order_id": ORDER, "total": {"amount": 1, "currency": "QQQ"}},
            "unknown currency 'QQQ'",
        ),
    ],
)
def test_unreadable_payloads_are_malformed(
    type_name: str, payload: dict[str, object], words: str
) -> None:
    with pytest.raises(MalformedMessage, match=words):
        to_domain(type_name, payload)


def test_a_decision_puts_own_events_on_sns_and_bus_and_commands_on_fifo() -> None:
    cause = uuid.uuid4()
    confirmed = domain.OrderConfirmed(ORDER, Money(2598, "EUR"))
    capture = domain.CapturePayment(ORDER, "auth-1", Money(2598, "EUR"))

    new_events, outbox = records_of(ORDER, [confirmed, capture], cause_id=cause)

    [event] = new_events
    assert event.type == "OrderConfirmed"
    assert event.metadata["causation_id"] == str(cause)
    assert [(m.destination, m.body["type"], m.group_id) for m in outbox] == [
        ("sns", "OrderConfirmed", None),
        ("bus", "OrderConfirmed", None),
        ("fifo", "CapturePayment", ORDER),
    ]
    assert outbox[0].event_id == outbox[1].event_id == event.event_id
    envelope = Envelope.model_validate(outbox[0].body)
    assert (envelope.correlation_id, envelope.causation_id) == (ORDER, cause)
    assert envelope.payload == dict(event.payload)
    assert Envelope.model_validate(outbox[2].body).causation_id == cause


def test_a_recorded_reply_keeps_its_envelope_and_is_not_republished() -> None:
    wire = contracts.InventoryRejected(order_id=ORDER, short_skus=("MUG-001",))
    received = contracts.envelope_for(wire)
    reply = to_domain("InventoryRejected", wire.model_dump(mode="json"))
    assert isinstance(reply, domain.InventoryRejected)
    cancelled = domain.OrderCancelled(ORDER, "out of stock")

    new_events, outbox = records_of(
        ORDER,
        [reply, cancelled],
        cause_id=received.event_id,
        reply=ReceivedReply(reply, received, wire),
    )

    assert (new_events[0].type, new_events[0].event_id) == ("InventoryRejected", received.event_id)
    assert new_events[0].payload["short_skus"] == ["MUG-001"]
    assert new_events[0].metadata["occurred_at"] == received.occurred_at.isoformat()
    assert [m.body["type"] for m in outbox] == ["OrderCancelled", "OrderCancelled"]
