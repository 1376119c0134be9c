"""The packaged email Lambda on LocalStack behind its queue: SQS -> Lambda -> SES, and the DLQ."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from services.email.tests.mailbox import mailbox
from shared.contracts import Money, OrderLine, OrderPlaced, envelope_for
from shared.tests.deployment import Functions, package, queue_with_dlq
from shared.tests.polling import eventually
from shared.tests.queues import drain, queue_is_empty

pytestmark = pytest.mark.integration

HANDLER = "services.email.handler.handler"


@pytest.fixture(scope="module")
def email_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return package("email", tmp_path_factory.mktemp("email-build"))


def order_placed_body(order_id: str, recipient: str) -> str:
    price = Money(amount=2499, currency="EUR")
    envelope = envelope_for(
        OrderPlaced(
            order_id=order_id,
            customer_email=recipient,
            shipping_country="NL",
            lines=(OrderLine(sku="TEE-002", quantity=1, unit_price=price),),
            total=price,
        )
    )
    return envelope.to_json()


def environment(database_url: str, sender: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "EVENT_BUS_NAME": "unused-by-email",
        "SENDER_EMAIL": sender,
        "POWERTOOLS_SERVICE_NAME": "email",
    }


def test_a_message_delivered_twice_sends_one_email_and_a_malformed_one_reaches_the_dlq(
    localstack: Any,
    queues: Callable[..., str],
    unique_name: str,
    database_url: str,
    engine: Engine,
    order_id: str,
    recipient: str,
    email_zip: bytes,
) -> None:
    sqs, ses = localstack.client("sqs"), localstack.client("ses")
    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    sender = f"shop-{unique_name}@example.com"
    ses.verify_email_identity(EmailAddress=sender)
    queue_url, queue_arn, dlq_url = queue_with_dlq(localstack, queues, unique_name)
    with Functions(localstack) as functions:
        functions.create(unique_name, email_zip, HANDLER, environment(database_url, sender))
        functions.consume(unique_name, queue_arn)
        body = order_placed_body(order_id, recipient)

        for message in (body, "{not an envelope", body):
            sqs.send_message(QueueUrl=queue_url, MessageBody=message)

        eventually(lambda: mailbox(endpoint, recipient), "the e-mail in the SES mailbox")
        dead = eventually(lambda: drain(sqs, dlq_url), "the malformed message in the DLQ")
        eventually(lambda: queue_is_empty(sqs, queue_url), "the queue to be drained")
        assert dead == ["{not an envelope"]
        [sent] = mailbox(endpoint, recipient)
        assert sent["Source"] == sender
        assert "1 x Outbox T-shirt (TEE-002) at 24.99 EUR" in sent["Body"]["text_part"]
    ses.delete_identity(Identity=sender)


def test_an_unverified_sender_sends_the_message_to_the_dlq_with_the_reason_logged(
    localstack: Any,
    queues: Callable[..., str],
    unique_name: str,
    database_url: str,
    engine: Engine,
    order_id: str,
    recipient: str,
    email_zip: bytes,
) -> None:
    sqs, logs = localstack.client("sqs"), localstack.client("logs")
    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    sender = f"unverified-{unique_name}@example.com"
    queue_url, queue_arn, dlq_url = queue_with_dlq(localstack, queues, unique_name)
    with Functions(localstack) as functions:
        functions.create(unique_name, email_zip, HANDLER, environment(database_url, sender))
        functions.consume(unique_name, queue_arn)
        body = order_placed_body(order_id, recipient)

        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

        dead = eventually(lambda: drain(sqs, dlq_url), "the refused message in the DLQ")
        assert dead == [body]
        assert mailbox(endpoint, recipient) == []

        def refusal_logged() -> list[str]:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{unique_name}")["events"]
            return [event["message"] for event in found if "cannot be sent" in event["message"]]

        lines = eventually(refusal_logged, "the refusal in the function's log")
        assert f"OrderPlaced e-mail for order {order_id} cannot be sent" in lines[0]
        assert f"(MessageRejected): Email address not verified {sender}" in lines[0]
