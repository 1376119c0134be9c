"""The email service fed wire messages, on the in-memory store and mailer of test_delivery."""

from __future__ import annotations

import pytest

from services.email.service import EmailService, PermanentSendFailure
from services.email.tests.unit.test_delivery import SENDER, FakeMailer, FakeStore
from shared.contracts import (
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    envelope_for,
    payload_of,
)
from shared.envelope import Envelope
from shared.tests.telemetry import RecordingTelemetry

PLACED = envelope_for(
    OrderPlaced(
        order_id="ord-1",
        customer_email="ada@example.com",
        shipping_country="FR",
        lines=(
            OrderLine(sku="MUG-001", quantity=2, unit_price=Money(amount=1299, currency="EUR")),
        ),
        total=Money(amount=2598, currency="EUR"),
    )
)


def service(mailer: FakeMailer, telemetry: RecordingTelemetry) -> EmailService:
    return EmailService(
        store=FakeStore(),
        mailer=mailer,
        sender=SENDER,
        product_names={"MUG-001": "Event Mug"},
        telemetry=telemetry,
    )


def handle(email: EmailService, envelope: Envelope) -> None:
    assert email.handle(envelope, payload_of(envelope)) == []


def test_each_order_event_is_rendered_from_its_wire_payload_and_sent_once() -> None:
    mailer, telemetry = FakeMailer(), RecordingTelemetry()
    email = service(mailer, telemetry)
    confirmed = envelope_for(
        OrderConfirmed(order_id="ord-1", total=Money(amount=2598, currency="EUR"))
    )
    cancelled = envelope_for(OrderCancelled(order_id="ord-1", reason="changed mind"))

    for envelope in (PLACED, PLACED, confirmed, cancelled):
        handle(email, envelope)

    texts = [message.text for _, _, message in mailer.outbox]
    assert len(texts) == 3
    assert "2 x Event Mug (MUG-001) at 12.99 EUR = 25.98 EUR" in texts[0]
    assert "Total charged: 25.98 EUR" in texts[1]
    assert "Reason: changed mind" in texts[2]
    assert telemetry.counts == {"EmailsSent": 3}
    assert telemetry.messages("INFO") == [
        "e-mail sent",
        "e-mail already sent for this event",
        "e-mail sent",
        "e-mail sent",
    ]
    assert telemetry.lines[0][2] == {"ses_message_id": "msg-1"}


def test_a_refused_message_is_logged_counted_and_raised() -> None:
    telemetry = RecordingTelemetry()
    email = service(FakeMailer(refuse="Email address not verified"), telemetry)

    with pytest.raises(PermanentSendFailure):
        handle(email, PLACED)

    assert telemetry.messages("ERROR") == [
        "OrderPlaced e-mail for order ord-1 cannot be sent: Email address not verified; the "
        "message goes to the dead-letter queue after its retries"
    ]
    assert telemetry.counts == {"EmailsRefused": 1}
