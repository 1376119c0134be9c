"""The ceiling loop's Lambda: forward every SQS record to OUTPUT_QUEUE_URL in one
SendMessageBatch. Shipped alone as ``forwarder.py`` in a zip, so it uses the standard library
only."""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from typing import Any

QUEUE = os.environ["OUTPUT_QUEUE_URL"]
SQS = urllib.parse.urlsplit(os.environ["SQS_ENDPOINT_URL"])
HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "AmazonSQS.SendMessageBatch",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request,"
    " SignedHeaders=host, Signature=0",
}
connection = http.client.HTTPConnection(SQS.hostname or "127.0.0.1", SQS.port, timeout=10)


def _post(body: bytes) -> tuple[int, dict[str, Any]]:
    connection.request("POST", "/", body=body, headers=HEADERS)
    reply = connection.getresponse()
    return reply.status, json.loads(reply.read() or b"{}")


def send(body: bytes) -> tuple[int, dict[str, Any]]:
    """POST once more on a fresh connection when the kept-alive one fails."""
    try:
        return _post(body)
    except (OSError, http.client.HTTPException):
        connection.close()
    try:
        return _post(body)
    except (OSError, http.client.HTTPException):
        connection.close()
        raise


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    records = event["Records"]
    entries = [{"Id": str(i), "MessageBody": r["body"]} for i, r in enumerate(records)]
    status, reply = send(json.dumps({"QueueUrl": QUEUE, "Entries": entries}).encode())
    if status != 200:
        raise RuntimeError(f"SendMessageBatch answered {status}: {reply}")
    failed = [int(item["Id"]) for item in reply.get("Failed", [])]
    return {"batchItemFailures": [{"itemIdentifier": records[i]["messageId"]} for i in failed]}
