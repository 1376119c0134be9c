"""The email handler fed SQS batches as AWS delivers them, sending through LocalStack's SES."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from services.email.adapters import email_sent
from services.email.handler import EmailSettings
from services.email.handler import handler as email_handler
from services.email.tests.mailbox import mailbox
from shared.contracts import (
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderPutOnHold,
    envelope_for,
)
from shared.envelope import Envelope
from shared.tests.aws_events import (
    LambdaContextDouble,
    envelope_record,
    failed_ids,
    sqs_event,
    sqs_record,
)
from shared.tests.idempotency_records import forget_idempotency

pytestmark = pytest.mark.integration

QUEUE = "email"
CONTEXT = LambdaContextDouble("email")


@pytest.fixture
def ses(localstack: Any) -> Any:
    return localstack.client("ses")


@pytest.fixture
def sender(ses: Any, unique_name: str) -> Iterator[str]:
    address = f"shop-{unique_name}@example.com"
    ses.verify_email_identity(EmailAddress=address)
    yield address
    ses.delete_identity(Identity=address)


def settings(database_url: str, sender: str) -> EmailSettings:
    return EmailSettings(
        database_url=database_url,
        event_bus_name="unused-by-email",
        sender_email=sender,
        service_name="email",
    )


def placed(order_id: str, recipient: str) -> Envelope:
    price = Money(amount=1299, currency="EUR")
    return envelope_for(
        OrderPlaced(
            order_id=order_id,
            customer_email=recipient,
            shipping_country="DE",
            lines=(OrderLine(sku="MUG-001", quantity=2, unit_price=price),),
            total=Money(amount=2598, currency="EUR"),
        )
    )


@pytest.fixture
def endpoint(localstack: Any) -> str:
    return os.environ["AWS_ENDPOINT_URL"].rstrip("/")


def test_a_batch_sends_each_event_once_and_reports_only_the_malformed_record(
    database_url: str, engine: Engine, sender: str, order_id: str, recipient: str, endpoint: str
) -> None:
    handler = email_handler.build(settings(database_url, sender))
    order_placed = placed(order_id, recipient)
    confirmed = order_placed.caused(
        "OrderConfirmed",
        OrderConfirmed(order_id=order_id, total=Money(amount=2598, currency="EUR")).model_dump(
            mode="json"
        ),
    )
    malformed = sqs_record('{"type": "OrderPlaced", "payload": ', QUEUE)
    batch = sqs_event(
        envelope_record(order_placed, QUEUE),
        malformed,
        envelope_record(order_placed, QUEUE),  # the same event delivered twice in one batch
        envelope_record(confirmed, QUEUE),
    )

    response = handler(batch, CONTEXT)

    assert failed_ids(response) == [malformed["messageId"]]
    messages = mailbox(endpoint, recipient)
    assert sorted(message["Subject"] for message in messages) == [
        f"We received your order {order_id}",
        f"Your order {order_id} is confirmed",
    ]
    assert {message["Source"] for message in messages} == {sender}
    placed_mail = next(m for m in messages if m["Subject"].startswith("We received"))
    assert "2 x Event Mug (MUG-001) at 12.99 EUR = 25.98 EUR" in placed_mail["Body"]["text_part"]
    assert "<strong>25.98 EUR</strong>" in placed_mail["Body"]["html_part"]

    again = handler(sqs_event(envelope_record(order_placed, QUEUE)), CONTEXT)
    assert failed_ids(again) == []
    assert len(mailbox(endpoint, recipient)) == 2
    with engine.connect() as connection:
        recorded = connection.execute(
            select(email_sent.c.event_type, email_sent.c.message_id).where(
                email_sent.c.order_id == order_id
            )
        ).all()
    assert sorted(row.event_type for row in recorded) == ["OrderConfirmed", "OrderPlaced"]
    assert {row.message_id for row in recorded} == {message["Id"] for message in messages}


def test_the_sent_log_stops_a_second_mail_even_without_the_idempotency_record(
    database_url: str, engine: Engine, sender: str, order_id: str, recipient: str, endpoint: str
) -> None:
    handler = email_handler.build(settings(database_url, sender))
    order_placed = placed(order_id, recipient)
    assert failed_ids(handler(sqs_event(envelope_record(order_placed, QUEUE)), CONTEXT)) == []
    with engine.begin() as connection:
        removed = forget_idempotency(connection, "email", [order_placed.event_id])
    assert removed == 1

    assert failed_ids(handler(sqs_event(envelope_record(order_placed, QUEUE)), CONTEXT)) == []
    assert len(mailbox(endpoint, recipient)) == 1


def test_a_cancellation_before_its_order_is_known_fails_until_the_order_arrives(
    database_url: str, engine: Engine, sender: str, order_id: str, recipient: str, endpoint: str
) -> None:
    handler = email_handler.build(settings(database_url, sender))
    order_placed = placed(order_id, recipient)
    cancelled = order_placed.caused(
        "OrderCancelled",
        OrderCancelled(order_id=order_id, reason="out of stock: MUG-001").model_dump(),
    )
    early = envelope_record(cancelled, QUEUE)
    assert failed_ids(handler(sqs_event(early), CONTEXT)) == [early["messageId"]]
    assert mailbox(endpoint, recipient) == []

    response = handler(
        sqs_event(envelope_record(order_placed, QUEUE), envelope_record(cancelled, QUEUE)), CONTEXT
    )
    assert failed_ids(response) == []
    subjects = [message["Subject"] for message in mailbox(endpoint, recipient)]
    assert sorted(subjects) == [
        f"We received your order {order_id}",
        f"Your order {order_id} has been cancelled",
    ]
    cancellation = next(
        m for m in mailbox(endpoint, recipient) if m["Subject"].endswith("cancelled")
    )
    assert "Reason: out of stock: MUG-001" in cancellation["Body"]["text_part"]


def test_an_unverified_sender_fails_the_record_and_logs_the_reason(
    database_url: str,
    engine: Engine,
    order_id: str,
    recipient: str,
    endpoint: str,
    unique_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unverified = f"unverified-{unique_name}@example.com"
    handler = email_handler.build(settings(database_url, unverified))
    record = envelope_record(placed(order_id, recipient), QUEUE)

    response = handler(sqs_event(record), CONTEXT)

    assert failed_ids(response) == [record["messageId"]]
    assert mailbox(endpoint, recipient) == []
    refusals = [record for record in caplog.records if "cannot be sent" in record.getMessage()]
    assert len(refusals) == 1
    assert refusals[0].levelname == "ERROR"
    assert refusals[0].getMessage() == (
        f"OrderPlaced e-mail for order {order_id} cannot be sent: SES refused the message "
        f"(MessageRejected): Email address not verified {unverified}; the message goes to the "
        "dead-letter queue after its retries"
    )
    with engine.connect() as connection:
        assert (
            connection.execute(select(email_sent).where(email_sent.c.order_id == order_id)).all()
            == []
        )


def test_a_message_of_a_type_email_does_not_take_is_a_failure(
    database_url: str, engine: Engine, sender: str, order_id: str
) -> None:
    handler = email_handler.build(settings(database_url, sender))
    held = envelope_for(OrderPutOnHold(order_id=order_id, reason="flagged for review"))
    record = envelope_record(held, QUEUE)
    assert failed_ids(handler(sqs_event(record), CONTEXT)) == [record["messageId"]]


def test_racing_deliveries_of_one_event_send_one_email(
    database_url: str, engine: Engine, sender: str, order_id: str, recipient: str, endpoint: str
) -> None:
    handlers = [email_handler.build(settings(database_url, sender)) for _ in range(3)]
    order_placed = placed(order_id, recipient)
    start = threading.Barrier(len(handlers))
    failures: list[list[str]] = []

    def deliver(handler: Any) -> None:
        start.wait()
        response = handler(sqs_event(envelope_record(order_placed, QUEUE)), CONTEXT)
        failures.append(failed_ids(response))

    threads = [threading.Thread(target=deliver, args=(handler,)) for handler in handlers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    retried = [
        failed_ids(handlers[0](sqs_event(envelope_record(order_placed, QUEUE)), CONTEXT))
        for failed in failures
        if failed
    ]

    assert len(failures) == len(handlers)
    assert retried == [[] for _ in retried]
    assert len(mailbox(endpoint, recipient)) == 1
