"""The email Lambda: its SQS queue (OrderPlaced, OrderConfirmed, OrderCancelled) to SES.

Entry point ``services.email.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME``, ``SENDER_EMAIL`` (an SES-verified identity) and the ``POWERTOOLS_*``
variables; the SES endpoint comes from ``AWS_ENDPOINT_URL`` / ``AWS_REGION``.
"""

from __future__ import annotations

from pydantic import Field

from services.email.adapters import SesMailer, SqlEmailStore, metadata
from services.email.service import EmailService
from shared.catalogue import load_catalogue
from shared.consumer import ConsumerLambda, ConsumerSettings, Wiring, sqs_handler


class EmailSettings(ConsumerSettings):
    sender_email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


def email(wiring: Wiring[EmailSettings]) -> EmailService:
    return EmailService(
        store=SqlEmailStore(wiring.engine),
        mailer=SesMailer(wiring.clients("ses")),
        sender=wiring.settings.sender_email,
        product_names={product.sku: product.name for product in load_catalogue()},
        telemetry=wiring.telemetry,
    )


handler = ConsumerLambda(
    settings=EmailSettings, tables=metadata, service=email, trigger=sqs_handler
)
