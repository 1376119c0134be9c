"""The operator's view of the whole stack's queues and alarms, and DLQ redrive (SQS +
CloudWatch); the operations routes of the API (``services.orders.api.operations``) serve it.

Queues are discovered by the stack's name prefix (physical names are `<stack>-<logical>`);
each queue is paired with its dead-letter queue through its `RedrivePolicy`. A redrive is an
SQS message move task from a dead-letter queue back to its source queue.

Alarm notifications are read from the stack's alarms queue (`<stack>-alarms`, subscribed to the
ops-alerts topic) without consuming them: a reader receives every message (hiding each for a few
seconds, so that the next receive returns the next ones), then makes them all visible again at
once. Every reader (each API process, each operator's page) sees the same notifications, save a
reader that runs during those few hundred milliseconds, and the queue's retention, not a reader,
decides when they go. The queue has no redrive policy, so readers' receives never move a
notification to a dead-letter queue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from services.orders.settings import OperationsSettings

ALARMS_QUEUE = "alarms"
# How long a read hides the notifications it has received (shown again at once when it ends; a
# reader that dies mid-read leaves them hidden this long), and the most one read goes through.
PEEK_VISIBILITY_SECONDS = 10
PEEK_LIMIT = 1000
QUEUE_ATTRIBUTES = [
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "RedrivePolicy",
]


class UnknownQueue(LookupError):
    """No queue of the stack has this name."""


class NotRedrivable(ValueError):
    """The queue exists but there is nothing to redrive it to."""


class RedriveRefused(RuntimeError):
    """SQS refused to start the move task (for example one is already running)."""


@dataclass(frozen=True)
class RedriveTask:
    status: str
    moved: int
    to_move: int | None
    failure_reason: str | None


@dataclass(frozen=True)
class QueueDepth:
    name: str
    url: str
    arn: str
    messages: int
    in_flight: int
    dead_letter_arn: str | None
    last_redrive: RedriveTask | None = None


@dataclass(frozen=True)
class QueuePair:
    """A source queue and its dead-letter queue; either side may be missing."""

    queue: QueueDepth | None
    dead_letter: QueueDepth | None

    @property
    def redrivable(self) -> bool:
        return self.queue is not None and self.dead_letter is not None


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str
    reason: str
    updated_at: datetime | None
    description: str
    queue_name: str | None


@dataclass(frozen=True)
class AlarmNotification:
    """What CloudWatch told the ops-alerts topic about one change of an alarm's state."""

    name: str
    state: str
    previous_state: str
    reason: str
    changed_at: datetime


@dataclass(frozen=True)
class RedriveStarted:
    task_handle: str
    dead_letter: str
    destination: str


def pair_queues(depths: list[QueueDepth]) -> list[QueuePair]:
    """Each source queue with its dead-letter queue, plus dead-letter queues no queue names.

    A queue is a dead-letter queue when a redrive policy points at it, or when nothing does and
    its name says so (the DLQ of a rule or a function, such as `<stack>-fraud-dlq`).
    """
    by_arn = {depth.arn: depth for depth in depths}
    targets = {depth.dead_letter_arn for depth in depths if depth.dead_letter_arn}

    def is_dead_letter(depth: QueueDepth) -> bool:
        return depth.arn in targets or depth.name.endswith(("-dlq", "-dlq.fifo"))

    pairs = [
        QueuePair(depth, by_arn.get(depth.dead_letter_arn or ""))
        for depth in depths
        if not is_dead_letter(depth)
    ]
    pairs += [
        QueuePair(None, depth)
        for depth in depths
        if is_dead_letter(depth) and depth.arn not in targets
    ]
    return sorted(pairs, key=_pair_name)


def _pair_name(pair: QueuePair) -> str:
    side = pair.queue or pair.dead_letter
    return side.name if side is not None else ""


class QueueOperations:
    """Reads depths and alarm states of one stack and starts redrives."""

    def __init__(self, sqs: Any, cloudwatch: Any, settings: OperationsSettings) -> None:
        self._sqs = sqs
        self._cloudwatch = cloudwatch
        self._prefix = settings.name_prefix

    def queues(self) -> list[QueuePair]:
        depths = [self._depth(url) for url in self._queue_urls()]
        found = [depth for depth in depths if depth is not None]
        dead_letter_arns = {depth.dead_letter_arn for depth in found if depth.dead_letter_arn}
        return pair_queues(
            [
                self._with_last_redrive(depth) if depth.arn in dead_letter_arns else depth
                for depth in found
            ]
        )

    def alarms(self) -> list[AlarmState]:
        paginator = self._cloudwatch.get_paginator("describe_alarms")
        return [
            AlarmState(
                name=alarm["AlarmName"],
                state=alarm.get("StateValue", "INSUFFICIENT_DATA"),
                reason=alarm.get("StateReason", ""),
                updated_at=alarm.get("StateUpdatedTimestamp"),
                description=alarm.get("AlarmDescription", ""),
                queue_name=next(
                    (
                        dimension["Value"]
                        for dimension in alarm.get("Dimensions", [])
                        if dimension["Name"] == "QueueName"
                    ),
                    None,
                ),
            )
            for page in paginator.paginate(AlarmNamePrefix=self._prefix, AlarmTypes=["MetricAlarm"])
            for alarm in page.get("MetricAlarms", [])
        ]

    def recent_alarm_notifications(self, limit: int) -> list[AlarmNotification]:
        """The newest `limit` notifications on the alarms queue, newest first, left there for
        every other reader (see the module's docstring)."""
        try:
            url = self._sqs.get_queue_url(QueueName=f"{self._prefix}{ALARMS_QUEUE}")["QueueUrl"]
        except ClientError as error:
            if "NonExistentQueue" in error.response["Error"].get("Code", ""):
                return []  # a stack deployed before it had an alarms queue
            raise
        found: dict[str, AlarmNotification] = {}
        handles: list[str] = []
        try:
            while len(handles) < PEEK_LIMIT:
                # a long poll of 1 s asks every SQS server, a short poll only a sample
                messages = self._sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                    WaitTimeSeconds=1,
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    handles.append(message["ReceiptHandle"])
                    found[message["MessageId"]] = _notification(message["Body"])
        finally:
            self._show_again(url, handles)
        newest_first = sorted(found.values(), key=lambda n: n.changed_at, reverse=True)
        return newest_first[:limit]

    def _show_again(self, url: str, handles: list[str]) -> None:
        for start in range(0, len(handles), 10):
            self._sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for index, handle in enumerate(handles[start : start + 10])
                ],
            )

    def redrive(self, dead_letter_name: str) -> RedriveStarted:
        """Start moving every message of `dead_letter_name` back to its source queue.

        With one source queue the move targets it; when several queues share the dead-letter
        queue, SQS returns each message to the queue it came from.
        """
        pairs = self.queues()
        sides = [side for pair in pairs for side in (pair.queue, pair.dead_letter) if side]
        if dead_letter_name not in {side.name for side in sides}:
            raise UnknownQueue(dead_letter_name)
        dead_letter = next(
            (
                p.dead_letter
                for p in pairs
                if p.dead_letter and p.dead_letter.name == dead_letter_name
            ),
            None,
        )
        if dead_letter is None:
            raise NotRedrivable(f"{dead_letter_name} is not a dead-letter queue")
        sources = [
            p.queue
            for p in pairs
            if p.queue and p.dead_letter and p.dead_letter.arn == dead_letter.arn
        ]
        if not sources:
            raise NotRedrivable(
                f"{dead_letter_name} is the dead-letter queue of no queue (its messages come from "
                "EventBridge, Lambda or SNS): there is no source queue to redrive it to; "
                "python -m infra.cloudformation.deploy redrive puts them back"
            )
        destination = {"DestinationArn": sources[0].arn} if len(sources) == 1 else {}
        try:
            started = self._sqs.start_message_move_task(SourceArn=dead_letter.arn, **destination)
        except ClientError as error:
            raise RedriveRefused(error.response["Error"].get("Message", str(error))) from error
        return RedriveStarted(
            started["TaskHandle"], dead_letter.name, ", ".join(sorted(q.name for q in sources))
        )

    def _queue_urls(self) -> Iterator[str]:
        paginator = self._sqs.get_paginator("list_queues")
        for page in paginator.paginate(
            QueueNamePrefix=self._prefix, PaginationConfig={"PageSize": 1000}
        ):
            yield from page.get("QueueUrls", [])

    def _depth(self, url: str) -> QueueDepth | None:
        try:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=QUEUE_ATTRIBUTES
            )["Attributes"]
        except ClientError as error:
            if "NonExistentQueue" in error.response["Error"].get("Code", ""):
                return None
            raise
        redrive_policy = attributes.get("RedrivePolicy")
        return QueueDepth(
            name=url.rsplit("/", 1)[-1],
            url=url,
            arn=attributes["QueueArn"],
            messages=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            dead_letter_arn=(
                json.loads(redrive_policy)["deadLetterTargetArn"] if redrive_policy else None
            ),
        )

    def _with_last_redrive(self, depth: QueueDepth) -> QueueDepth:
        tasks = self._sqs.list_message_move_tasks(SourceArn=depth.arn, MaxResults=1)
        latest = next(iter(tasks.get("Results", [])), None)
        if latest is None:
            return depth
        return replace(
            depth,
            last_redrive=RedriveTask(
                status=latest.get("Status", "UNKNOWN"),
                moved=int(latest.get("ApproximateNumberOfMessagesMoved", 0)),
                to_move=latest.get("ApproximateNumberOfMessagesToMove"),
                failure_reason=latest.get("FailureReason"),
            ),
        )


def _notification(body: str) -> AlarmNotification:
    """A notification as the subscription delivers it (raw), or inside the SNS envelope (one
    moved back from the ops-alerts delivery DLQ)."""
    alarm: dict[str, Any] = json.loads(body)
    if "AlarmName" not in alarm and "Message" in alarm:
        alarm = json.loads(alarm["Message"])
    return AlarmNotification(
        name=alarm["AlarmName"],
        state=alarm["NewStateValue"],
        previous_state=alarm.get("OldStateValue", ""),
        reason=alarm.get("NewStateReason", ""),
        # AWS writes 2026-11-30T09:12:03.123+0000, LocalStack 2026-11-30T09:12:03.123Z
        changed_at=datetime.fromisoformat(alarm["StateChangeTime"]),
    )
