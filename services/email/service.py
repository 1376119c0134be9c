"""Deciding what to send for an order event, against ports the adapters implement.

OrderPlaced records the customer's address (the later events do not carry it) and sends the
"received" message; OrderConfirmed and OrderCancelled look the address up. An event whose
message was already sent sends nothing: the sent log is keyed by the event id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.email import domain
from services.email.domain import CustomerEvent, EmailMessage, render
from shared import contracts
from shared.contracts import Contract, OrderCancelled, OrderConfirmed, OrderPlaced
from shared.envelope import Envelope
from shared.observability import Telemetry


class RecipientNotKnownYet(RuntimeError):
    """The order's OrderPlaced has not been seen yet: retry the message later."""


class PermanentSendFailure(RuntimeError):
    """The mail service refuses the message for good (for example an unverified sender)."""


class Mailer(Protocol):
    def send(self, *, sender: str, recipient: str, message: EmailMessage) -> str:
        """Send and return the provider's message id; raise PermanentSendFailure when the
        provider refuses the message itself, anything else when it may work on a retry."""
        ...


class EmailStore(Protocol):
    def remember_recipient(self, order_id: str, email: str) -> None: ...

    def recipient_of(self, order_id: str) -> str | None: ...

    def sent_message_id(self, event_id: uuid.UUID) -> str | None: ...

    def record_sent(
        self,
        *,
        event_id: uuid.UUID,
        order_id: str,
        event_type: str,
        recipient: str,
        message_id: str,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one event: the provider's message id, and whether it was sent now."""

    message_id: str
    sent_now: bool


def deliver(
    *,
    event_id: uuid.UUID,
    event: CustomerEvent,
    store: EmailStore,
    mailer: Mailer,
    sender: str,
    product_names: Mapping[str, str],
) -> Delivery:
    if isinstance(event, domain.OrderPlaced):
        store.remember_recipient(event.order_id, event.customer_email)
    already = store.sent_message_id(event_id)
    if already is not None:
        return Delivery(already, sent_now=False)
    recipient = store.recipient_of(event.order_id)
    if recipient is None:
        raise RecipientNotKnownYet(
            f"no e-mail address for order {event.order_id} yet (its OrderPlaced has not "
            "arrived); the message is retried"
        )
    message_id = mailer.send(
        sender=sender, recipient=recipient, message=render(event, product_names)
    )
    store.record_sent(
        event_id=event_id,
        order_id=event.order_id,
        event_type=type(event).__name__,
        recipient=recipient,
        message_id=message_id,
    )
    return Delivery(message_id, sent_now=True)


class EmailService:
    accepts = (OrderPlaced, OrderConfirmed, OrderCancelled)

    def __init__(
        self,
        *,
        store: EmailStore,
        mailer: Mailer,
        sender: str,
        product_names: Mapping[str, str],
        telemetry: Telemetry,
    ) -> None:
        self.store = store
        self.mailer = mailer
        self.sender = sender
        self.product_names = product_names
        self.telemetry = telemetry

    def handle(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        try:
            delivery = deliver(
                event_id=envelope.event_id,
                event=customer_event(payload),
                store=self.store,
                mailer=self.mailer,
                sender=self.sender,
                product_names=self.product_names,
            )
        except PermanentSendFailure as refusal:
            self.telemetry.error(
                f"{envelope.type} e-mail for order {envelope.correlation_id} cannot be sent: "
                f"{refusal}; the message goes to the dead-letter queue after its retries"
            )
            self.telemetry.count("EmailsRefused")
            raise
        if delivery.sent_now:
            self.telemetry.count("EmailsSent")
        self.telemetry.info(
            "e-mail sent" if delivery.sent_now else "e-mail already sent for this event",
            ses_message_id=delivery.message_id,
        )
        return []


def customer_event(payload: Contract) -> CustomerEvent:
    """The domain's view of an order event a customer hears about."""
    match payload:
        case OrderPlaced():
            return domain.OrderPlaced(
                order_id=payload.order_id,
                customer_email=payload.customer_email,
                lines=tuple(
                    domain.OrderLine(line.sku, line.quantity, money(line.unit_price))
                    for line in payload.lines
                ),
                total=money(payload.total),
            )
        case OrderConfirmed():
            return domain.OrderConfirmed(payload.order_id, money(payload.total))
        case OrderCancelled():
            return domain.OrderCancelled(payload.order_id, payload.reason)
    raise TypeError(f"e-mail does not handle {type(payload).__name__}")


def money(amount: contracts.Money) -> domain.Money:
    return domain.Money(amount.amount, amount.currency)
