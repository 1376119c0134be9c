"""A LocalStack event bus whose events a test reads back from a queue."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shared.tests.queues import arn_of


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

    def replies(self, count: int, quiet_seconds: float = 0) -> list[dict[str, Any]]:
        """The events received: ``count`` of them, then none more for ``quiet_seconds``."""
        events = self.received(until=lambda events: len(events) >= count)
        if quiet_seconds:
            events += self.received(until=lambda _: False, timeout=quiet_seconds)
        return events


def capture_bus(
    localstack: Any, name: str, source: str, create_queue: Callable[..., str]
) -> tuple[BusCapture, Callable[[], None]]:
    """Create a bus, a capture queue and a rule for ``source``; returns it and its cleanup."""
    events, sqs = localstack.client("events"), localstack.client("sqs")
    events.create_event_bus(Name=name)
    queue_url = create_queue(f"{name}-capture")
    events.put_rule(
        Name=f"{name}-capture",
        EventBusName=name,
        EventPattern=json.dumps({"source": [source]}),
    )
    events.put_targets(
        Rule=f"{name}-capture",
        EventBusName=name,
        Targets=[{"Id": "capture", "Arn": arn_of(sqs, queue_url)}],
    )

    def cleanup() -> None:
        """Delete the bus and every rule on it (a test may have added its own)."""
        for rule in events.list_rules(EventBusName=name)["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)
            ids = [target["Id"] for target in targets["Targets"]]
            if ids:
                events.remove_targets(Rule=rule["Name"], EventBusName=name, Ids=ids)
            events.delete_rule(Name=rule["Name"], EventBusName=name)
        events.delete_event_bus(Name=name)

    return BusCapture(events, sqs, name, queue_url), cleanup


def bus_fixture(source: str) -> Any:
    """A fixture of a fresh bus whose ``source`` events land in a queue the test reads."""

    @pytest.fixture
    def bus(localstack: Any, unique_name: str, queues: Callable[..., str]) -> Iterator[BusCapture]:
        capture, cleanup = capture_bus(localstack, unique_name, source, queues)
        yield capture
        cleanup()

    return bus
