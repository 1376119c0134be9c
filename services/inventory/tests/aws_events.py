"""Events in the exact shapes AWS hands to the inventory Lambdas, and a bus capture."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACCOUNT = "000000000000"
REGION = "us-east-1"


def sqs_record(body: str, message_type: str = "OrderPlaced") -> dict[str, Any]:
    """One record of the SQS event source mapping: an SNS raw delivery (body = envelope,
    message attributes ``type`` and ``version`` as the orders relay sets them)."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"AQEB{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1763900000000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1763900000001",
        },
        "messageAttributes": {
            "type": {
                "stringValue": message_type,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "version": {
                "stringValue": "1",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
        },
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:inventory",
        "awsRegion": REGION,
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {"Records": [sqs_record(body) for body in bodies]}


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def function_url_event(method: str, path: str) -> dict[str, Any]:
    """A Lambda function URL request (payload format 2.0)."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:17:00:00 +0000",
            "timeEpoch": 1763917200000,
        },
        "isBase64Encoded": False,
    }


@dataclass
class LambdaContextDouble:
    """The attributes of the Lambda context object that powertools reads."""

    function_name: str = "inventory"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inventory"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class BusCapture:
    """A bus with a rule that copies every event of ``source`` to a queue."""

    events: Any
    sqs: Any
    bus_name: str
    queue_url: str

    def received(
        self, until: Callable[[list[dict[str, Any]]], bool], timeout: float = 15
    ) -> list[dict[str, Any]]:
        """Events (as EventBridge delivers them) received until ``until`` holds or timeout."""
        deadline = time.monotonic() + timeout
        events: list[dict[str, Any]] = []
        while not until(events) and time.monotonic() < deadline:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in response.get("Messages", []):
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return events


def capture_bus(
    localstack: Any, name: str, source: str, create_queue: Callable[..., str]
) -> tuple[BusCapture, Callable[[], None]]:
    """Create a bus, a capture queue and a rule for ``source``; returns it and its cleanup."""
    events, sqs = localstack.client("events"), localstack.client("sqs")
    events.create_event_bus(Name=name)
    queue_url = create_queue(f"{name}-capture")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=f"{name}-capture",
        EventBusName=name,
        EventPattern=json.dumps({"source": [source]}),
    )
    events.put_targets(
        Rule=f"{name}-capture", EventBusName=name, Targets=[{"Id": "capture", "Arn": queue_arn}]
    )

    def cleanup() -> None:
        events.remove_targets(Rule=f"{name}-capture", EventBusName=name, Ids=["capture"])
        events.delete_rule(Name=f"{name}-capture", EventBusName=name)
        events.delete_event_bus(Name=name)

    return BusCapture(events, sqs, name, queue_url), cleanup
