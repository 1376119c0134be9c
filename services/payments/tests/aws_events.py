"""SQS FIFO events in the exact shape the event source mapping hands to the payments Lambda."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from typing import Any

from services.inventory.tests.aws_events import ACCOUNT, REGION

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:payments.fifo"
_sequence = itertools.count(18_849_496_460_467_696_128)


def fifo_record(body: str, group: str, deduplication_id: str | None = None) -> dict[str, Any]:
    """One FIFO record (body = envelope, group = order id, deduplication id = event id)."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"AQEB{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1763900000000",
            "SequenceNumber": str(next(_sequence)),
            "MessageGroupId": group,
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "MessageDeduplicationId": deduplication_id or hashlib.sha256(body.encode()).hexdigest(),
            "ApproximateFirstReceiveTimestamp": "1763900000001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def as_lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message from ReceiveMessage as the event source mapping passes it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
