"""Lambda events and context in the shapes AWS hands them to the services' handlers."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from shared.envelope import Envelope

ACCOUNT = "000000000000"
REGION = "us-east-1"

_fifo_sequence = itertools.count(18_849_496_460_467_696_128)


def _string_attribute(value: str) -> dict[str, Any]:
    return {
        "stringValue": value,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def _record(
    body: str, queue: str, attributes: dict[str, str], message_attributes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"AQEB{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1763917200000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1763917200001",
            **attributes,
        },
        "messageAttributes": message_attributes,
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
        "awsRegion": REGION,
    }


def sqs_record(
    body: str, queue: str = "inventory", message_type: str | None = None
) -> dict[str, Any]:
    """One record as the SQS event source mapping delivers it (body = SNS raw delivery);
    with ``message_type``, the ``type`` and ``version`` attributes the orders relay sets."""
    message_attributes: dict[str, Any] = {}
    if message_type is not None:
        message_attributes = {
            "type": _string_attribute(message_type),
            "version": _string_attribute("1"),
        }
    return _record(body, queue, {}, message_attributes)


def envelope_record(envelope: Envelope, queue: str) -> dict[str, Any]:
    return sqs_record(envelope.to_json(), queue, envelope.type)


def fifo_record(
    body: str, group: str, deduplication_id: str | None = None, queue: str = "payments.fifo"
) -> dict[str, Any]:
    """One FIFO record (group = order id; deduplication id by default the body's hash)."""
    attributes = {
        "SequenceNumber": str(next(_fifo_sequence)),
        "MessageGroupId": group,
        "MessageDeduplicationId": deduplication_id or hashlib.sha256(body.encode()).hexdigest(),
    }
    return _record(body, queue, attributes, {})


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


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def failed_ids(response: dict[str, Any]) -> list[str]:
    """The message ids a partial batch response reports as failed."""
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def eventbridge_event(detail: Any, detail_type: str = "OrderPlaced") -> dict[str, Any]:
    """An event as an EventBridge rule hands it to its Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "shop.orders",
        "account": ACCOUNT,
        "time": "2026-11-23T17:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def function_url_event(
    path: str,
    *,
    query: dict[str, str] | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A request as a Lambda function URL delivers it (payload format 2.0; header names in
    lower case)."""
    raw_query = "&".join(f"{name}={value}" for name, value in (query or {}).items())
    domain = "abcdefghijklmnop.lambda-url.us-east-1.on.aws"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {
            "accept": "application/json",
            "host": domain,
            "user-agent": "Amazon CloudFront",
            "x-forwarded-proto": "https",
            **{name.lower(): value for name, value in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnop",
            "domainName": domain,
            "domainPrefix": "abcdefghijklmnop",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "Amazon CloudFront",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:17:00:00 +0000",
            "timeEpoch": 1795453200000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    return event


@dataclass
class LambdaContextDouble:
    """The attributes of the Lambda context object that powertools reads."""

    function_name: str = "inventory"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
