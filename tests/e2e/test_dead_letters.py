"""Poison messages land in their queue's DLQ without stopping the flow, and redrive works."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import pytest

from shared.tests.polling import eventually
from tests.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CONSUMED_QUEUES = ("Inventory", "Email", "Analytics", "Payments", "OrderUpdates")
DEAD_LETTER_TIMEOUT = 120
_wait = partial(eventually, seconds=DEAD_LETTER_TIMEOUT, interval=0.5)


def test_poison_in_every_queue_is_dead_lettered_alarmed_and_redriven(shop: Shop) -> None:
    sqs, cloudwatch = shop.aws("sqs"), shop.aws("cloudwatch")
    marker = f"poison-{uuid.uuid4().hex}"
    for queue in CONSUMED_QUEUES:
        _send_poison(sqs, shop.outputs[f"{queue}QueueUrl"], marker)

    order = shop.place()
    shop.wait_for(order["order_id"], lambda o, t: o["status"] == "confirmed", 60)

    dead_letter_urls = [shop.outputs[f"{queue}DlqUrl"] for queue in CONSUMED_QUEUES]
    for url in dead_letter_urls:
        _wait(partial(_holds, sqs, url, marker), f"{marker} in {url}")
    for url in dead_letter_urls:
        alarm = _alarm_watching(cloudwatch, shop.outputs, url)
        _wait(partial(_alarm_fires, cloudwatch, alarm), f"alarm {alarm} in ALARM")

    for url in dead_letter_urls:
        name = url.rsplit("/", 1)[1]
        response = shop.site.post(
            f"/api/ops/queues/{name}/redrive",
            headers=shop.as_operator(),
        )
        assert response.status_code == 202, response.text
    for url in dead_letter_urls:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        _wait(partial(_moved_back, sqs, arn), f"redrive of {arn} completed")
    for url in dead_letter_urls:
        _wait(partial(_holds, sqs, url, marker), f"{marker} back in {url} (still poison)")


def _send_poison(sqs: Any, queue_url: str, marker: str) -> None:
    message: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": f'{{"poison": "{marker}"}}'}
    if queue_url.endswith(".fifo"):
        message |= {"MessageGroupId": marker, "MessageDeduplicationId": marker}
    sqs.send_message(**message)


def _holds(sqs: Any, queue_url: str, marker: str) -> bool:
    """Whether the queue holds a message with ``marker`` (looked at without consuming it)."""
    received = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
    )
    return any(marker in message["Body"] for message in received.get("Messages", []))


def _alarm_watching(cloudwatch: Any, outputs: dict[str, str], dlq_url: str) -> str:
    queue_name = dlq_url.rsplit("/", 1)[1]
    for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        if dimensions.get("QueueName") == queue_name:
            return str(alarm["AlarmName"])
    raise AssertionError(f"no alarm watches {queue_name}")


def _alarm_fires(cloudwatch: Any, name: str) -> bool:
    alarms = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return bool(alarms[0]["StateValue"] == "ALARM")


def _moved_back(sqs: Any, dlq_arn: str) -> bool:
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
    return bool(tasks) and tasks[0]["Status"] == "COMPLETED"
