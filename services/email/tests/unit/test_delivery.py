"""Deciding what to send, on a store and a mailer kept in memory."""

from __future__ import annotations

import uuid

import pytest

from services.email.domain import (
    CustomerEvent,
    EmailMessage,
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
)
from services.email.service import (
    Delivery,
    PermanentSendFailure,
    RecipientNotKnownYet,
    deliver,
)

SENDER = "shop@example.com"


class FakeStore:
    def __init__(self) -> None:
        self.recipients: dict[str, str] = {}
        self.sent: dict[uuid.UUID, tuple[str, str, str, str]] = {}

    def remember_recipient(self, order_id: str, email: str) -> None:
        self.recipients.setdefault(order_id, email)

    def recipient_of(self, order_id: str) -> str | None:
        return self.recipients.get(order_id)

    def sent_message_id(self, event_id: uuid.UUID) -> str | None:
        found = self.sent.get(event_id)
        return found[3] if found else None

    def record_sent(
        self,
        *,
        event_id: uuid.UUID,
        order_id: str,
        event_type: str,
        recipient: str,
        message_id: str,
    ) -> None:
        self.sent[event_id] = (order_id, event_type, recipient, message_id)


class FakeMailer:
    def __init__(self, refuse: str | None = None) -> None:
        self.outbox: list[tuple[str, str, EmailMessage]] = []
        self.refuse = refuse

    def send(self, *, sender: str, recipient: str, message: EmailMessage) -> str:
        if self.refuse:
            raise PermanentSendFailure(self.refuse)
        self.outbox.append((sender, recipient, message))
        return f"msg-{len(self.outbox)}"


PLACED = OrderPlaced(
    order_id="ord-1",
    customer_email="ada@example.com",
    lines=(OrderLine(sku="MUG-001", quantity=1, unit_price=Money(amount=1299, currency="EUR")),),
    total=Money(amount=1299, currency="EUR"),
)
CONFIRMED = OrderConfirmed(order_id="ord-1", total=Money(amount=1299, currency="EUR"))


def send(
    event: CustomerEvent, store: FakeStore, mailer: FakeMailer, event_id: uuid.UUID
) -> Delivery:
    return deliver(
        event_id=event_id,
        event=event,
        store=store,
        mailer=mailer,
        sender=SENDER,
        product_names={},
    )


def test_placed_records_the_recipient_and_sends_to_it() -> None:
    store, mailer = FakeStore(), FakeMailer()
    event_id = uuid.uuid4()
    delivery = send(PLACED, store, mailer, event_id)
    assert [(sender, recipient) for sender, recipient, _ in mailer.outbox] == [
        (SENDER, "ada@example.com")
    ]
    assert store.sent[event_id] == ("ord-1", "OrderPlaced", "ada@example.com", "msg-1")
    assert delivery.sent_now and delivery.message_id == "msg-1"


def test_later_events_go_to_the_recorded_recipient() -> None:
    store, mailer = FakeStore(), FakeMailer()
    send(PLACED, store, mailer, uuid.uuid4())
    send(CONFIRMED, store, mailer, uuid.uuid4())
    send(OrderCancelled(order_id="ord-1", reason="changed mind"), store, mailer, uuid.uuid4())
    assert [message.subject for _, _, message in mailer.outbox] == [
        "We received your order ord-1",
        "Your order ord-1 is confirmed",
        "Your order ord-1 has been cancelled",
    ]
    assert {recipient for _, recipient, _ in mailer.outbox} == {"ada@example.com"}


def test_the_same_event_twice_sends_once() -> None:
    store, mailer = FakeStore(), FakeMailer()
    event_id = uuid.uuid4()
    send(PLACED, store, mailer, event_id)
    again = send(PLACED, store, mailer, event_id)
    assert len(mailer.outbox) == 1
    assert not again.sent_now and again.message_id == "msg-1"


def test_confirmation_before_the_placed_event_is_retried_not_lost() -> None:
    store, mailer = FakeStore(), FakeMailer()
    event_id = uuid.uuid4()
    with pytest.raises(RecipientNotKnownYet, match="ord-1"):
        send(CONFIRMED, store, mailer, event_id)
    assert mailer.outbox == [] and store.sent == {}
    send(PLACED, store, mailer, uuid.uuid4())
    send(CONFIRMED, store, mailer, event_id)
    assert [message.subject for _, _, message in mailer.outbox][-1] == (
        "Your order ord-1 is confirmed"
    )


def test_a_refused_message_is_not_recorded_as_sent() -> None:
    store, mailer = FakeStore(), FakeMailer(refuse="Email address is not verified")
    with pytest.raises(PermanentSendFailure, match="not verified"):
        send(PLACED, store, mailer, uuid.uuid4())
    assert store.sent == {}
    assert store.recipients == {"ord-1": "ada@example.com"}
