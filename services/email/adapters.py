"""The email service's own tables and the SES mailer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from services.email.domain import EmailMessage
from services.email.service import PermanentSendFailure

metadata = MetaData()

email_recipients = Table(
    "email_recipients",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

email_sent = Table(
    "email_sent",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("order_id", String(200), nullable=False, index=True),
    Column("event_type", String(64), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

PERMANENT_SES_ERRORS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "ConfigurationSetDoesNotExistException",
        "ConfigurationSetSendingPausedException",
        "AccountSendingPausedException",
        "InvalidParameterValue",
    }
)
"""SES error codes that a retry cannot cure: the message is refused as it is."""


class SqlEmailStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def remember_recipient(self, order_id: str, email: str) -> None:
        """The first address recorded for an order stays (OrderPlaced is sent once per order)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(email_recipients).values(
                        order_id=order_id, email=email, recorded_at=datetime.now(UTC)
                    )
                )
        except IntegrityError:
            pass

    def recipient_of(self, order_id: str) -> str | None:
        with self.engine.connect() as connection:
            found: str | None = connection.execute(
                select(email_recipients.c.email).where(email_recipients.c.order_id == order_id)
            ).scalar_one_or_none()
        return found

    def sent_message_id(self, event_id: uuid.UUID) -> str | None:
        with self.engine.connect() as connection:
            found: str | None = connection.execute(
                select(email_sent.c.message_id).where(email_sent.c.event_id == str(event_id))
            ).scalar_one_or_none()
        return found

    def record_sent(
        self,
        *,
        event_id: uuid.UUID,
        order_id: str,
        event_type: str,
        recipient: str,
        message_id: str,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(email_sent).values(
                    event_id=str(event_id),
                    order_id=order_id,
                    event_type=event_type,
                    recipient=recipient,
                    message_id=message_id,
                    sent_at=datetime.now(UTC),
                )
            )


class SesMailer:
    """SES ``SendEmail`` with a text and an HTML part (UTF-8)."""

    def __init__(self, ses: Any) -> None:
        self.ses = ses

    def send(self, *, sender: str, recipient: str, message: EmailMessage) -> str:
        try:
            response = self.ses.send_email(
                Source=sender,
                Destination={"ToAddresses": [recipient]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                },
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in PERMANENT_SES_ERRORS:
                reason = error.response.get("Error", {}).get("Message", str(error))
                raise PermanentSendFailure(f"SES refused the message ({code}): {reason}") from error
            raise
        return str(response["MessageId"])
