"""Replaying a window of the bus's archive re-delivers events that every consumer absorbs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from shared.tests.polling import eventually
from shared.tests.queues import queue_is_empty
from tests.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

REPLAY_TIMEOUT = 120
_wait = partial(eventually, seconds=REPLAY_TIMEOUT, interval=0.5)


def test_replaying_an_archive_window_changes_no_order(
    shop: Shop, replay_capture: Callable[[str], str]
) -> None:
    events, sqs = shop.aws("events"), shop.aws("sqs")
    archived_before = events.describe_archive(ArchiveName=shop.outputs["ArchiveName"])["EventCount"]
    began = datetime.now(UTC)
    order = shop.place()
    confirmed, _ = shop.wait_for(
        order["order_id"], lambda o, t: o["status"] == "confirmed" and "PaymentCaptured" in t, 60
    )
    timeline = _timeline(shop, order["order_id"])
    replayed = replay_capture(order["order_id"])
    _wait_until_archived(events, shop.outputs["ArchiveName"], archived_before)
    archive = events.describe_archive(ArchiveName=shop.outputs["ArchiveName"])

    name = f"e2e-replay-{uuid.uuid4().hex[:8]}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive["ArchiveArn"],
        # Replay windows count in whole minutes: the end a minute ahead keeps start before end.
        EventStartTime=max(began, archive["CreationTime"]),
        EventEndTime=datetime.now(UTC) + timedelta(minutes=1),
        Destination={"Arn": shop.outputs["EventBusArn"]},
    )
    replay = _wait_for_replay(events, name)

    assert replay["State"] == "COMPLETED", replay
    _wait(
        lambda: _replayed_types(sqs, replayed) >= {"OrderPlaced"},
        "the order's replayed events on the bus",
    )
    _wait(
        lambda: queue_is_empty(sqs, shop.outputs["OrderUpdatesQueueUrl"]), "order-updates drained"
    )
    unchanged = _timeline(shop, order["order_id"])
    assert unchanged == timeline
    assert shop.order(order["order_id"])["status"] == confirmed["status"]


@pytest.fixture
def replay_capture(shop: Shop) -> Iterator[Callable[[str], str]]:
    """Queues that receive the replayed events of one order (rules of the test's own)."""
    events, sqs = shop.aws("events"), shop.aws("sqs")
    bus = shop.outputs["EventBusName"]
    made: list[tuple[str, str]] = []

    def capture(order_id: str) -> str:
        name = f"e2e-replays-{uuid.uuid4().hex[:8]}"
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        made.append((name, url))
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        pattern = {"replay-name": [{"exists": True}], "detail": {"correlation_id": [order_id]}}
        rule_arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))[
            "RuleArn"
        ]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _queue_policy(arn, rule_arn)})
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
        return str(url)

    yield capture
    for name, url in made:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["capture"])
        events.delete_rule(Name=name, EventBusName=bus)
        sqs.delete_queue(QueueUrl=url)


def _queue_policy(queue_arn: str, rule_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def _replayed_types(sqs: Any, queue_url: str) -> set[str]:
    received = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
    )
    return {json.loads(m["Body"])["detail"]["type"] for m in received.get("Messages", [])}


def _timeline(shop: Shop, order_id: str) -> list[tuple[str, str]]:
    return [(event["event_id"], event["type"]) for event in shop.events(order_id)]


def _wait_until_archived(events: Any, archive_name: str, count_before: int) -> None:
    deadline = time.monotonic() + REPLAY_TIMEOUT
    while events.describe_archive(ArchiveName=archive_name)["EventCount"] <= count_before:
        if time.monotonic() > deadline:
            raise AssertionError(f"archive {archive_name} never received the order's events")
        time.sleep(0.5)


def _wait_for_replay(events: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + REPLAY_TIMEOUT
    while True:
        replay: dict[str, Any] = events.describe_replay(ReplayName=name)
        if replay["State"] in {"COMPLETED", "FAILED", "CANCELLED"}:
            return replay
        if time.monotonic() > deadline:
            raise AssertionError(f"replay {name} still {replay['State']}")
        time.sleep(0.5)
