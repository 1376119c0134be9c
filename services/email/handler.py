"""The email Lambda: its SQS queue (OrderPlaced, OrderConfirmed, OrderCancelled) to SES.

Entry point ``services.email.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME``, ``SENDER_EMAIL`` (an SES-verified identity) and the ``POWERTOOLS_*``
variables; the SES endpoint comes from ``AWS_ENDPOINT_URL`` / ``AWS_REGION``.
"""

from __future__ import annotations

from typing import Any, cast

from pydantic import Field

from services.email.adapters import SesMailer, SqlEmailStore, metadata
from services.email.domain import CustomerEvent
from services.email.service import PermanentSendFailure, deliver
from shared import aws
from shared.catalogue import load_catalogue
from shared.consumer import (
    ConsumerSettings,
    LambdaHandler,
    LazyHandler,
    MessageConsumer,
    create_tables,
    sqs_handler,
)
from shared.contracts import Contract, OrderCancelled, OrderConfirmed, OrderPlaced
from shared.database import create_engine_for
from shared.envelope import Envelope
from shared.idempotency import SqlPersistenceLayer
from shared.settings import AwsSettings, load

ACCEPTS = (OrderPlaced, OrderConfirmed, OrderCancelled)


class EmailSettings(ConsumerSettings):
    sender_email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


def build(settings: EmailSettings | None = None, ses: Any = None) -> LambdaHandler:
    """The handler wired to the database, SES and the catalogue's product names."""
    settings = settings or load(EmailSettings)
    engine = create_engine_for(settings.database_url)
    create_tables(metadata, engine)
    store = SqlEmailStore(engine)
    mailer = SesMailer(ses if ses is not None else aws.client("ses", load(AwsSettings)))
    product_names = {product.sku: product.name for product in load_catalogue()}

    def send(envelope: Envelope, payload: Contract) -> list[Envelope]:
        try:
            delivery = deliver(
                event_id=envelope.event_id,
                event=cast(CustomerEvent, payload),  # ACCEPTS limits the types
                store=store,
                mailer=mailer,
                sender=settings.sender_email,
                product_names=product_names,
            )
        except PermanentSendFailure as refusal:
            consumer.logger.error(
                f"{envelope.type} e-mail for order {envelope.correlation_id} cannot be sent: "
                f"{refusal}; the message goes to the dead-letter queue after its retries"
            )
            consumer.observability.count("EmailsRefused")
            raise
        if delivery.sent_now:
            consumer.observability.count("EmailsSent")
        consumer.logger.info(
            "e-mail sent" if delivery.sent_now else "e-mail already sent for this event",
            extra={"ses_message_id": delivery.message_id},
        )
        return []

    consumer = MessageConsumer(
        settings=settings,
        accepts=ACCEPTS,
        handle=send,
        persistence=SqlPersistenceLayer(engine),
        publisher=None,
    )
    return sqs_handler(consumer)


handler = LazyHandler(build)
