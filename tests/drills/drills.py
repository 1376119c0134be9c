"""The faults of the drills, each injected while orders flow, and the run that checks the stores
afterwards and reports one row of the table."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.config import Config
from sqlalchemy.exc import SQLAlchemyError

from shared.tests.databases import database_unavailable
from shared.tests.polling import eventually
from shared.tests.queues import arn_of
from tests.drills.checker import STORES_READABLE, Stores, Violation, check
from tests.drills.harness import DrillStack, OrderStream, frozen, outage_seconds

CONSUMED_QUEUES = ("Inventory", "Email", "Analytics", "Payments", "OrderUpdates")
LEAD_IN_ORDERS = 6
"""Orders accepted before a fault and again after it: the fault hits a flowing stream."""
RECOVERY_GRACE_SECONDS = 45.0
"""How long after its fault a drill waits for the stores to satisfy every invariant."""

KILL_INTERVAL_SECONDS = 20.0
"""Between two kills of the Lambdas' environments (the test profile's visibility timeout: 18 s)."""

Fault = Callable[[OrderStream], None]


@dataclass
class DrillRow:
    drill: str
    outage_seconds: float
    placed: int
    final: int
    violations: list[str] = field(default_factory=list)
    recovered_after: float | None = None
    order_ids: list[str] = field(default_factory=list, repr=False)

    def as_json(self) -> str:
        return json.dumps(asdict(self) | {"order_ids": []})

    @classmethod
    def from_json(cls, value: str) -> DrillRow:
        return cls(**json.loads(value))


def table(rows: list[DrillRow]) -> str:
    """The drills' table: drill, orders placed, orders final, violations, time to recover."""
    lines = [
        f"{'drill':<24} {'outage':>7} {'placed':>7} {'final':>6} {'violations':>10} "
        f"{'recovered':>10}"
    ]
    for row in rows:
        recovered = f"{row.recovered_after:.1f} s" if row.recovered_after is not None else "never"
        lines.append(
            f"{row.drill:<24} {row.outage_seconds:>5.0f} s {row.placed:>7} {row.final:>6} "
            f"{len(row.violations):>10} {recovered:>10}"
        )
    for row in rows:
        shown = row.violations[:8]
        lines += [f"  {row.drill}: {violation}" for violation in shown]
        if len(row.violations) > len(shown):
            lines.append(f"  {row.drill}: ... and {len(row.violations) - len(shown)} more")
    return "\n".join(lines)


@dataclass
class Drills:
    stack: DrillStack
    stores: Stores

    def run(self, name: str, fault: Fault, poison: str | None = None) -> DrillRow:
        """Orders flowing, ``fault`` injected, orders flowing again; then the stores checked
        until every invariant holds (the time to recover) or the grace period ends."""
        with OrderStream(self.stack, name) as stream:
            self._wait_for_orders(stream, LEAD_IN_ORDERS)
            fault(stream)
            fault_ended = time.monotonic()
            self._wait_for_orders(stream, len(stream.accepted) + LEAD_IN_ORDERS)
        order_ids = list(stream.accepted)
        deadline = fault_ended + outage_seconds() + RECOVERY_GRACE_SECONDS
        violations: list[Violation] = []
        while True:
            violations = self._violations(order_ids, poison)
            if not violations:
                recovered_after: float | None = time.monotonic() - fault_ended
                break
            if time.monotonic() > deadline:
                recovered_after = None
                break
            time.sleep(0.5)
        final = len(self.stores.statuses(order_ids))
        row = DrillRow(
            name,
            outage_seconds(),
            len(order_ids),
            final,
            [str(violation) for violation in violations],
            recovered_after,
            order_ids,
        )
        self.purge_dead_letters()
        return row

    def _violations(self, order_ids: list[str], poison: str | None) -> list[Violation]:
        try:
            return check(self.stores, order_ids, poison)
        except SQLAlchemyError as error:  # a store not there yet, or down
            return [Violation(STORES_READABLE, str(error).splitlines()[0])]

    def warm_up(self) -> None:
        """Orders through every service until each store has its tables, a minute for them to
        finish, then the dead-letter queues emptied. On a loaded machine the first execution
        environments may time out starting (LocalStack's startup timeout) and, with the test
        profile's two receives, dead-letter the first messages: a cold start, not a drill's
        fault, and the warm-up orders belong to no drill."""
        with OrderStream(self.stack, "warm-up", rate=1.0) as stream:
            eventually(
                lambda: _readable(self.stores), "every store created", seconds=240, interval=1
            )
        with contextlib.suppress(pytest.fail.Exception):
            eventually(
                lambda: len(self.stores.statuses(stream.accepted)) == len(stream.accepted),
                "the warm-up orders final",
                seconds=60,
                interval=1,
            )
        self.purge_dead_letters()

    def purge_dead_letters(self) -> None:
        """Empty the dead-letter queues, so that the next drill starts from none."""
        sqs = self.stack.aws("sqs")
        for url in self.stores.dead_letter_urls:
            sqs.purge_queue(QueueUrl=url)

    @staticmethod
    def _wait_for_orders(stream: OrderStream, count: int) -> None:
        eventually(
            lambda: len(stream.accepted) >= count,
            f"{count} orders accepted in drill {stream.label}",
            seconds=60,
            interval=0.1,
        )

    # The faults ---------------------------------------------------------------------------

    def duplicates_and_replay(self, stream: OrderStream) -> None:
        """Every message delivered twice for the outage (a second subscription per SNS
        subscription, a second rule per rule of the bus), then the window replayed from the
        bus's archive."""
        began = datetime.now(UTC)
        with self._duplicated_deliveries():
            _wait_on_clock(outage_seconds())
        self._replay_since(began)

    def relay_killed(self, stream: OrderStream) -> None:
        """The outbox relay killed with SIGKILL while it publishes, restarted, again and again
        for the outage."""
        until = time.monotonic() + outage_seconds()
        while time.monotonic() < until:
            self.stack.kill("relay")
            started = self._relay_starts()
            self.stack.start("relay")
            eventually(
                lambda started=started: self._relay_starts() > started,  # type: ignore[misc]
                "the restarted relay publishing",
                seconds=30,
                interval=0.1,
            )
            _wait_on_clock(1.0)  # publishing, with orders flowing, when it is killed again

    def _relay_starts(self) -> int:
        return self.stack.log_of("relay").read_text(errors="replace").count("relay started")

    def lambda_killed(self, stream: OrderStream) -> None:
        """The execution environments of the inventory and payments Lambdas killed with SIGKILL
        while they handle orders, every ``KILL_INTERVAL_SECONDS`` for the outage: longer than
        the queues' visibility timeout, so that a message caught in one kill is not caught again
        on its second (and, with the test profile, last) receive."""
        until = time.monotonic() + outage_seconds()
        killed = 0
        while True:
            for service in ("inventory", "payments"):
                for pid in self.stack.lambda_environments(service):
                    _kill(pid)
                    killed += 1
            if time.monotonic() + KILL_INTERVAL_SECONDS > until:
                break
            _wait_on_clock(KILL_INTERVAL_SECONDS)
        assert killed, "no Lambda execution environment was found to kill"

    def emulator_frozen(self, stream: OrderStream) -> None:
        """LocalStack stopped (SIGSTOP) for the outage, then continued; customers reach the
        orders API directly meanwhile (the emulator serves the edge)."""
        stream.via_origin.set()
        try:
            with frozen(self.stack.localstack_pid()):
                _wait_on_clock(outage_seconds())
        finally:
            stream.via_origin.clear()

    def database_unavailable(self, stream: OrderStream) -> None:
        """The orders database refuses every connection for the outage."""
        with database_unavailable(self.stack.databases["orders"]):
            _wait_on_clock(outage_seconds())

    def poison(self, marker: str) -> Fault:
        """A message no consumer can read in each consumed queue, dead-lettered while orders
        flow."""

        def inject(stream: OrderStream) -> None:
            sqs = self.stack.aws("sqs")
            for queue in CONSUMED_QUEUES:
                url = self.stack.outputs[f"{queue}QueueUrl"]
                message: dict[str, Any] = {
                    "QueueUrl": url,
                    "MessageBody": json.dumps({"poison": marker}),
                }
                if url.endswith(".fifo"):
                    message |= {"MessageGroupId": marker, "MessageDeduplicationId": marker}
                sqs.send_message(**message)
            for queue in CONSUMED_QUEUES:
                url = self.stack.outputs[f"{queue}DlqUrl"]
                eventually(
                    lambda url=url: any(marker in body for body in self._bodies(url)),  # type: ignore[misc]
                    f"the poison in {url}",
                    seconds=outage_seconds() + 60,
                    interval=0.5,
                )

        return inject

    def _bodies(self, url: str) -> list[str]:
        return self.stores.dead_letters().get(url, [])

    @contextmanager
    def _duplicated_deliveries(self) -> Iterator[None]:
        """Each SNS subscription gets a tap (a queue of the drill's own with the same filter)
        whose messages a thread copies into the subscribed queue; each rule of the bus a twin
        with the same pattern and targets. The payments FIFO queue is fed by the relay alone and
        drops a copy with the same deduplication id: the relay drill publishes twice there."""
        sns, sqs, events = self.stack.aws("sns"), self.stack.aws("sqs"), self.stack.aws("events")
        bus = self.stack.outputs["EventBusName"]
        taps: list[tuple[str, str]] = []
        added_subscriptions: list[str] = []
        added_rules: list[str] = []
        stop = threading.Event()
        copier = threading.Thread(target=_copy_taps, args=(sqs, taps, stop), daemon=True)
        try:
            for subscription in sns.list_subscriptions_by_topic(
                TopicArn=self.stack.outputs["OrderEventsTopicArn"]
            )["Subscriptions"]:
                attributes = sns.get_subscription_attributes(
                    SubscriptionArn=subscription["SubscriptionArn"]
                )["Attributes"]
                target = sqs.get_queue_url(QueueName=subscription["Endpoint"].rsplit(":", 1)[1])
                tap = sqs.create_queue(QueueName=f"drill-tap-{uuid.uuid4().hex[:12]}")["QueueUrl"]
                taps.append((tap, target["QueueUrl"]))
                added_subscriptions.append(
                    sns.subscribe(
                        TopicArn=subscription["TopicArn"],
                        Protocol="sqs",
                        Endpoint=arn_of(sqs, tap),
                        Attributes={
                            name: attributes[name]
                            for name in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery")
                            if name in attributes
                        },
                        ReturnSubscriptionArn=True,
                    )["SubscriptionArn"]
                )
            copier.start()
            for rule in events.list_rules(EventBusName=bus)["Rules"]:
                if "EventPattern" not in rule or rule.get("ManagedBy"):
                    continue
                twin = f"{rule['Name'][:50]}-twin-{uuid.uuid4().hex[:6]}"
                events.put_rule(Name=twin, EventBusName=bus, EventPattern=rule["EventPattern"])
                added_rules.append(twin)
                targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)
                events.put_targets(Rule=twin, EventBusName=bus, Targets=targets["Targets"])
            yield
        finally:
            for arn in added_subscriptions:
                sns.unsubscribe(SubscriptionArn=arn)
            for twin in added_rules:
                ids = [
                    target["Id"]
                    for target in events.list_targets_by_rule(Rule=twin, EventBusName=bus)[
                        "Targets"
                    ]
                ]
                if ids:
                    events.remove_targets(Rule=twin, EventBusName=bus, Ids=ids)
                events.delete_rule(Name=twin, EventBusName=bus)
            stop.set()
            if copier.is_alive():
                copier.join(timeout=120)
            assert not copier.is_alive(), "the taps were not emptied in 120 s"
            for tap, _ in taps:
                sqs.delete_queue(QueueUrl=tap)

    def _replay_since(self, began: datetime) -> None:
        # LocalStack replays within the StartReplay call: a minute's archive of a steady stream
        # outlasts botocore's 60 s read timeout, and a retry of the call finds its replay existing.
        events = self.stack.aws(
            "events", Config(read_timeout=600, retries={"total_max_attempts": 1})
        )
        archive = events.describe_archive(ArchiveName=self.stack.outputs["ArchiveName"])
        name = f"drill-{uuid.uuid4().hex[:8]}"
        events.start_replay(
            ReplayName=name,
            EventSourceArn=archive["ArchiveArn"],
            # Replay windows count in whole minutes: the end a minute ahead keeps start < end.
            EventStartTime=max(began, archive["CreationTime"]),
            EventEndTime=datetime.now(UTC) + timedelta(minutes=1),
            Destination={"Arn": self.stack.outputs["EventBusArn"]},
        )
        replay = eventually(
            lambda: _finished(events.describe_replay(ReplayName=name)),
            f"replay {name} finished",
            seconds=120,
            interval=0.5,
        )
        assert replay["State"] == "COMPLETED", replay


def _copy_taps(sqs: Any, taps: list[tuple[str, str]], stop: threading.Event) -> None:
    """Copy what reaches each tap into its queue until ``stop``, then the taps' remainder."""
    while True:
        stopping = stop.is_set()
        copied = 0
        for tap, target in taps:
            for message in sqs.receive_message(
                QueueUrl=tap, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", []):
                sqs.send_message(QueueUrl=target, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=tap, ReceiptHandle=message["ReceiptHandle"])
                copied += 1
        if stopping and not copied:
            return
        if not copied:
            stop.wait(0.2)


def _readable(stores: Stores) -> bool:
    try:
        check(stores, [])
    except SQLAlchemyError:
        return False
    return True


def _finished(replay: dict[str, Any]) -> dict[str, Any] | None:
    return replay if replay["State"] in ("COMPLETED", "FAILED", "CANCELLED") else None


def _wait_on_clock(seconds: float) -> None:
    """A fault's duration: a wait on the clock, nothing to poll."""
    time.sleep(seconds)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.kill(pid, signal.SIGKILL)
