"""The order pipeline against the emulator's own ceiling (issue 8).

``python -m bench.pipeline`` (or ``measure()`` from ``bench/startup.py``) prints a table and
writes ``build/bench-pipeline.json``:

- ceilings, with no application code, on the LocalStack of the stack and with its mapping
  settings: a bare SQS -> Lambda (host executor, forwards each record) -> SQS loop and a bare
  SNS -> SQS (raw) -> receive loop; latency (one message at a time) and messages per second;
- the stack: end-to-end latency from ``POST /api/orders`` to ``confirmed`` (the
  ``OrderConfirmed`` event's ``recorded_at``) one order at a time, then rate steps of at least
  60 s each, keeping the best rate at which every order reaches its final state and each
  service's own store (reservations and stock, payments, e-mails in the SES mailbox, fraud
  verdicts, analytics) holds each effect exactly once; the message rate the pipeline causes at
  that rate (SQS deliveries + Lambda invocations, from LocalStack's CloudWatch metrics) as a
  ratio to the bare SQS -> Lambda ceiling; CPU and RSS of every stack process from /proc;
  time from ``up`` to ready when this bench started the stack.

The load generator runs in its own process (``python -m bench.pipeline load ...``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "build" / "bench-pipeline.json"
REGION = "us-east-1"
LAMBDA_ROLE = "arn:aws:iam::000000000000:role/bench-pipeline"

TARGET_LIGHT_P50_S = 1.5
TARGET_LIGHT_P99_S = 4.0
TARGET_CEILING_RATIO = 0.5
TARGET_STACK_MEMORY_BYTES = 2 * 1024**3

FORWARDER = '''\
"""Forward every SQS record to OUTPUT_QUEUE_URL in one SendMessageBatch (stdlib only)."""
import http.client
import json
import os
import urllib.parse

QUEUE = os.environ["OUTPUT_QUEUE_URL"]
SQS = urllib.parse.urlsplit(os.environ["SQS_ENDPOINT_URL"])
HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "AmazonSQS.SendMessageBatch",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request,"
    " SignedHeaders=host, Signature=0",
}
connection = http.client.HTTPConnection(SQS.hostname, SQS.port, timeout=10)


def send(body):
    for attempt in (1, 2):
        try:
            connection.request("POST", "/", body=body, headers=HEADERS)
            reply = connection.getresponse()
            return reply.status, json.loads(reply.read() or b"{}")
        except (OSError, http.client.HTTPException):
            connection.close()
            if attempt == 2:
                raise


def handler(event, context):
    records = event["Records"]
    entries = [{"Id": str(i), "MessageBody": r["body"]} for i, r in enumerate(records)]
    status, reply = send(json.dumps({"QueueUrl": QUEUE, "Entries": entries}).encode())
    if status != 200:
        raise RuntimeError(f"SendMessageBatch answered {status}: {reply}")
    failed = [int(item["Id"]) for item in reply.get("Failed", [])]
    return {"batchItemFailures": [{"itemIdentifier": records[i]["messageId"]} for i in failed]}
'''


# --- pure helpers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50/p95/p99 and max in seconds (None when nothing was measured)."""
    if not seconds:
        return {"count": 0, "p50_s": None, "p95_s": None, "p99_s": None, "max_s": None}
    return {
        "count": len(seconds),
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "p99_s": percentile(seconds, 99),
        "max_s": max(seconds),
    }


def rate_between(first: float, last: float, count: int) -> float:
    """Items per second over [first, last]; 0 when the window is empty."""
    return count / (last - first) if count and last > first else 0.0


@dataclass(frozen=True)
class RateStep:
    rate: float
    passed: bool


def next_rate(
    steps: Sequence[RateStep],
    *,
    start: float,
    factor: float = 2.0,
    resolution: float = 0.2,
) -> float | None:
    """The next order rate to try, or None when the best passing rate is known well enough.

    Multiply by ``factor`` while steps pass; after the first failure, bisect between the best
    pass and the lowest failure until they are within ``resolution`` (relative) of each other.
    With no pass at all, halve the lowest failure.
    """
    if not steps:
        return start
    passes = [step.rate for step in steps if step.passed]
    failures = [step.rate for step in steps if not step.passed]
    if not failures:
        return max(passes) * factor
    lowest_failure = min(failures)
    if not passes:
        candidate = lowest_failure / 2
        return candidate if candidate >= start / 8 else None
    best = max(rate for rate in passes if rate < lowest_failure)
    if (lowest_failure - best) / best <= resolution:
        return None
    return (best + lowest_failure) / 2


def verdict(passed: bool | None) -> str:
    return "-" if passed is None else ("PASS" if passed else "FAIL")


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Left-aligned first column, the others right-aligned, widths from the content."""
    all_rows = [list(header), *[list(row) for row in rows]]
    columns = max(len(row) for row in all_rows)
    for row in all_rows:
        row.extend([""] * (columns - len(row)))
    widths = [max(len(row[i]) for row in all_rows) for i in range(columns)]
    lines = []
    for row in all_rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 2, scale: float = 1.0) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


# --- AWS clients ---------------------------------------------------------------------------------


def aws_client(service: str, endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 3}),
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise TimeoutError(f"{what} within {timeout:.0f} s")


# --- ceilings: the emulator with no application code -------------------------------------------


@dataclass(frozen=True)
class MappingSettings:
    """The event source mapping settings the ceiling loop copies from the stack."""

    batch_size: int = 10
    batching_window_s: int = 0
    maximum_concurrency: int = 5
    source: str = "infra.cloudformation.deploy test profile"


def stack_mapping_settings(endpoint: str, stack: str | None) -> MappingSettings:
    """The settings of the stack's first standard-queue mapping, else the test profile's."""
    from infra.cloudformation import deploy

    fallback = MappingSettings(
        batch_size=10,
        batching_window_s=int(deploy.TEST_PROFILE.get("MaximumBatchingWindowSeconds", 0)),
        maximum_concurrency=int(deploy.TEST_PROFILE.get("MaximumConcurrency", 5)),
    )
    if stack is None:
        return fallback
    lam = aws_client("lambda", endpoint)
    for mapping in lam.list_event_source_mappings().get("EventSourceMappings", []):
        arn = mapping.get("EventSourceArn", "")
        if stack in mapping.get("FunctionArn", "") and not arn.endswith(".fifo"):
            return MappingSettings(
                batch_size=int(mapping.get("BatchSize", 10)),
                batching_window_s=int(mapping.get("MaximumBatchingWindowInSeconds", 0)),
                maximum_concurrency=int(
                    mapping.get("ScalingConfig", {}).get("MaximumConcurrency", 5)
                ),
                source=f"stack {stack} ({arn.rsplit(':', 1)[-1]})",
            )
    return fallback


def _forwarder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("forwarder.py", FORWARDER)
    return buffer.getvalue()


def _stamp(index: int) -> str:
    return json.dumps({"i": index, "sent": time.time()})


class Collector:
    """Receives from one queue in background threads and records each message's latency."""

    def __init__(self, sqs: Any, queue_url: str, threads: int = 2) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.received: dict[int, tuple[float, float]] = {}
        self.duplicates = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Collector:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                VisibilityTimeout=600,
            )
            now = time.time()
            with self.lock:
                for message in reply.get("Messages", []):
                    body = json.loads(message["Body"])
                    if body["i"] in self.received:
                        self.duplicates += 1
                    else:
                        self.received[body["i"]] = (body["sent"], now)

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def latency_of(self, index: int) -> float | None:
        with self.lock:
            times = self.received.get(index)
        return None if times is None else times[1] - times[0]

    def await_count(self, expected: int, timeout: float) -> None:
        wait_for(lambda: self.count() >= expected, timeout, f"{expected} messages", every=0.01)


def _one_at_a_time(
    send: Callable[[int], None], collector: Collector, messages: int, first: int, idle_s: float
) -> list[float]:
    """Send one message, wait for it to come out, idle a random 0..idle_s, repeat."""
    pacing = random.Random(8)
    latencies = []
    for index in range(first, first + messages):
        send(index)
        wait_for(lambda i=index: collector.latency_of(i) is not None, 30, f"message {index}", 0.005)  # type: ignore[misc]
        latencies.append(collector.latency_of(index) or 0.0)
        time.sleep(pacing.uniform(0, idle_s))
    return latencies


def _send_all(send_batch: Callable[[list[int]], None], batches: list[list[int]]) -> None:
    for batch in batches:
        send_batch(batch)


def _burst(
    send_batch: Callable[[list[int]], None], collector: Collector, first: int, messages: int
) -> dict[str, Any]:
    """Send ``messages`` as fast as four threads can, then wait for all to arrive."""
    indices = list(range(first, first + messages))
    batches = [indices[i : i + 10] for i in range(0, len(indices), 10)]
    began = time.time()
    threads = [
        threading.Thread(target=_send_all, args=(send_batch, batches[k::4])) for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent_in = time.time() - began
    wait_for(
        lambda: all(collector.latency_of(i) is not None for i in indices),
        120,
        f"{messages} burst messages",
        0.05,
    )
    with collector.lock:
        arrivals = [collector.received[i][1] for i in indices]
        latencies = [collector.received[i][1] - collector.received[i][0] for i in indices]
    return {
        "messages": messages,
        "send_s": sent_in,
        "messages_per_s": rate_between(began, max(arrivals), messages),
        "latency": latency_summary(latencies),
    }


def measure_sqs_lambda_ceiling(
    endpoint: str,
    mapping: MappingSettings,
    light_messages: int = 20,
    burst_messages: int = 1000,
    idle_s: float = 1.0,
    fifo: bool = False,
) -> dict[str, Any]:
    """Bare SQS -> Lambda (forwarder, ReportBatchItemFailures) -> SQS on ``endpoint``.

    With ``fifo`` the source is a FIFO queue with one message group per message, as the payments
    queue has one group per order."""
    sqs = aws_client("sqs", endpoint)
    lam = aws_client("lambda", endpoint)
    name = f"ceiling-{uuid.uuid4().hex[:8]}"
    attributes = {"VisibilityTimeout": "30"} | ({"FifoQueue": "true"} if fifo else {})
    source = sqs.create_queue(
        QueueName=f"{name}-in{'.fifo' if fifo else ''}", Attributes=attributes
    )["QueueUrl"]
    sink = sqs.create_queue(QueueName=f"{name}-out")["QueueUrl"]
    mapping_uuid = None
    try:
        source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Handler="forwarder.handler",
            Role=LAMBDA_ROLE,
            Code={"ZipFile": _forwarder_zip()},
            Timeout=10,
            Environment={"Variables": {"OUTPUT_QUEUE_URL": sink, "SQS_ENDPOINT_URL": endpoint}},
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        window = {} if fifo else {"MaximumBatchingWindowInSeconds": mapping.batching_window_s}
        mapping_uuid = lam.create_event_source_mapping(
            EventSourceArn=source_arn,
            FunctionName=name,
            BatchSize=mapping.batch_size,
            ScalingConfig={"MaximumConcurrency": max(2, mapping.maximum_concurrency)},
            FunctionResponseTypes=["ReportBatchItemFailures"],
            **window,
        )["UUID"]
        wait_for(
            lambda: lam.get_event_source_mapping(UUID=mapping_uuid)["State"] == "Enabled",
            30,
            "the ceiling's event source mapping enabled",
        )

        def grouped(index: int) -> dict[str, str]:
            return (
                {"MessageGroupId": f"g{index}", "MessageDeduplicationId": f"{name}-{index}"}
                if fifo
                else {}
            )

        def send(index: int) -> None:
            sqs.send_message(QueueUrl=source, MessageBody=_stamp(index), **grouped(index))

        def send_batch(indices: list[int]) -> None:
            sqs.send_message_batch(
                QueueUrl=source,
                Entries=[{"Id": str(i), "MessageBody": _stamp(i), **grouped(i)} for i in indices],
            )

        with Collector(sqs, sink) as collector:
            send(0)
            collector.await_count(1, 60)
            light = _one_at_a_time(send, collector, light_messages, 1, idle_s)
            burst = _burst(send_batch, collector, 1 + light_messages, burst_messages)
            duplicates = collector.duplicates
        return {
            "mapping": asdict(mapping),
            "light": latency_summary(light),
            "burst": burst,
            "messages_per_s": burst["messages_per_s"],
            "duplicates": duplicates,
        }
    finally:
        if mapping_uuid:
            lam.delete_event_source_mapping(UUID=mapping_uuid)
        _quietly(lambda: lam.delete_function(FunctionName=name))
        for url in (source, sink):
            _quietly(lambda url=url: sqs.delete_queue(QueueUrl=url))  # type: ignore[misc]


def measure_sns_sqs_ceiling(
    endpoint: str, light_messages: int = 30, burst_messages: int = 1000
) -> dict[str, Any]:
    """Bare SNS -> SQS (raw delivery) -> receive on ``endpoint``."""
    sqs = aws_client("sqs", endpoint)
    sns = aws_client("sns", endpoint)
    name = f"ceiling-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    sink = sqs.create_queue(QueueName=f"{name}-out")["QueueUrl"]
    try:
        sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=sink_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

        def send(index: int) -> None:
            sns.publish(TopicArn=topic, Message=_stamp(index))

        def send_batch(indices: list[int]) -> None:
            sns.publish_batch(
                TopicArn=topic,
                PublishBatchRequestEntries=[{"Id": str(i), "Message": _stamp(i)} for i in indices],
            )

        with Collector(sqs, sink) as collector:
            send(0)
            collector.await_count(1, 30)
            light = _one_at_a_time(send, collector, light_messages, 1, 0.0)
            burst = _burst(send_batch, collector, 1 + light_messages, burst_messages)
            duplicates = collector.duplicates
        return {
            "light": latency_summary(light),
            "burst": burst,
            "messages_per_s": burst["messages_per_s"],
            "duplicates": duplicates,
        }
    finally:
        _quietly(lambda: sns.delete_topic(TopicArn=topic))
        _quietly(lambda: sqs.delete_queue(QueueUrl=sink))


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception as error:
        print(f"  (clean-up: {error})", file=sys.stderr)


def measure_ceilings(endpoint: str, stack: str | None = None) -> dict[str, Any]:
    mapping = stack_mapping_settings(endpoint, stack)
    return {
        "sqs_lambda_sqs": measure_sqs_lambda_ceiling(endpoint, mapping, burst_messages=600),
        "fifo_lambda_sqs": measure_sqs_lambda_ceiling(
            endpoint, mapping, light_messages=5, burst_messages=100, fifo=True
        ),
        "sns_sqs": measure_sns_sqs_ceiling(endpoint),
    }


# --- the load generator (its own process) -------------------------------------------------------

FINAL_STATUSES = frozenset({"confirmed", "cancelled", "on_hold"})
HOME_COUNTRY = "DE"
SCREENED_COUNTRY = "US"
"""Outside the fraud policy's allowed countries: the fraud Lambda scores the order (and, with
a small basket and an ordinary e-mail domain, passes it)."""


@dataclass(frozen=True)
class LoadPlan:
    """What one load generator run places: ``orders`` one at a time, or ``rate`` per second
    for ``seconds``; every ``screen_every``-th order ships where the fraud Lambda screens it."""

    edge_url: str
    site_host: str
    api_url: str
    run_id: str
    first_index: int
    sku: str
    screen_every: int = 4
    rate: float | None = None
    seconds: float = 60.0
    orders: int = 20
    settle_s: float = 15.0


def recipient(run_id: str, index: int) -> str:
    return f"bench-{run_id}-{index}@example.com"


def is_screened(index: int, screen_every: int) -> bool:
    return screen_every > 0 and index % screen_every == 0


def order_body(plan: LoadPlan, index: int) -> dict[str, Any]:
    screened = is_screened(index, plan.screen_every)
    return {
        "customer_email": recipient(plan.run_id, index),
        "shipping_country": SCREENED_COUNTRY if screened else HOME_COUNTRY,
        "currency": "EUR",
        "lines": [{"sku": plan.sku, "quantity": 1}],
        "payment_token": "tok_approve",
    }


def _epoch(timestamp: str | None) -> float | None:
    from datetime import datetime

    return None if timestamp is None else datetime.fromisoformat(timestamp).timestamp()


async def _place_and_follow(
    client: Any, plan: LoadPlan, index: int, deadline: float, poll_s: float
) -> dict[str, Any]:
    import asyncio

    import httpx

    record: dict[str, Any] = {
        "index": index,
        "screened": is_screened(index, plan.screen_every),
        "recipient": recipient(plan.run_id, index),
        "posted_at": time.time(),
    }
    try:
        placed = await client.post(
            f"{plan.edge_url}/api/orders",
            json=order_body(plan, index),
            headers={"Host": plan.site_host, "Idempotency-Key": f"bench-{plan.run_id}-{index}"},
        )
        record["post_s"] = time.time() - record["posted_at"]
        if placed.status_code != 201:
            record["error"] = f"POST answered {placed.status_code}: {placed.text[:200]}"
            return record
        order_id = placed.json()["order_id"]
        record["order_id"] = order_id
        status = placed.json()["status"]
        while status not in FINAL_STATUSES and time.time() < deadline:
            await asyncio.sleep(poll_s)
            reply = await client.get(f"{plan.api_url}/api/orders/{order_id}")
            if reply.status_code == 200:
                status = reply.json()["status"]
        record["status"] = status
        timeline = await client.get(f"{plan.api_url}/api/orders/{order_id}/events")
        events = timeline.json()["events"]
    except httpx.HTTPError as error:
        record["error"] = f"{type(error).__name__}: {error}"
        return record
    record["event_types"] = [event["type"] for event in events]
    record["event_times"] = {event["type"]: _epoch(event["recorded_at"]) for event in events}
    confirmed = [event for event in events if event["type"] == "OrderConfirmed"]
    record["confirmed_at"] = _epoch(confirmed[0]["recorded_at"]) if confirmed else None
    return record


async def generate_load(plan: LoadPlan) -> dict[str, Any]:
    """Place the plan's orders and follow each to its final state (or the settle deadline)."""
    import asyncio

    import httpx

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        began = time.time()
        if plan.rate is None:
            orders = []
            for k in range(plan.orders):
                deadline = time.time() + plan.settle_s
                orders.append(
                    await _place_and_follow(client, plan, plan.first_index + k, deadline, 0.05)
                )
        else:
            count = max(1, round(plan.rate * plan.seconds))
            deadline = began + plan.seconds + plan.settle_s
            tasks = []
            for k in range(count):
                await asyncio.sleep(max(0.0, began + k / plan.rate - time.time()))
                tasks.append(
                    asyncio.create_task(
                        _place_and_follow(client, plan, plan.first_index + k, deadline, 0.5)
                    )
                )
            orders = list(await asyncio.gather(*tasks))
    posted = [order["posted_at"] for order in orders]
    span = max(posted) - min(posted)
    return {
        "plan": asdict(plan),
        "began_at": began,
        "ended_at": time.time(),
        "placed_per_s": (len(orders) - 1) / span if span > 0 else None,
        "orders": orders,
    }


def run_load(plan: LoadPlan) -> dict[str, Any]:
    """The load generator in its own process; its figures come back as JSON."""
    budget = (plan.seconds if plan.rate else plan.orders * plan.settle_s) + plan.settle_s + 60
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline", "load", json.dumps(asdict(plan))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=budget,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"load generator exited with {done.returncode}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- what a run did: latencies, final states, the stores of each service -----------------------


def e2e_latencies(orders: Sequence[Mapping[str, Any]]) -> list[float]:
    """Seconds from sending the POST to the OrderConfirmed event, per confirmed order."""
    return [
        order["confirmed_at"] - order["posted_at"]
        for order in orders
        if order.get("confirmed_at") is not None
    ]


def stage_latencies(orders: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per event type, seconds from sending the POST to the event being recorded: where the
    time of an order goes (replies of inventory, payments and fraud; confirmation; capture)."""
    stages: dict[str, list[float]] = {}
    for order in orders:
        for event_type, recorded in order.get("event_times", {}).items():
            if recorded is not None:
                stages.setdefault(event_type, []).append(recorded - order["posted_at"])
    return {
        event_type: latency_summary(values)
        for event_type, values in sorted(stages.items(), key=lambda item: percentile(item[1], 50))
    }


def order_problems(orders: Sequence[Mapping[str, Any]]) -> list[str]:
    """Failed placements, orders not final, not confirmed, or with an event recorded twice."""
    problems = []
    failed = [order for order in orders if "error" in order]
    if failed:
        problems.append(f"{len(failed)} placement(s) failed, first: {failed[0]['error']}")
    followed = [order for order in orders if "error" not in order]
    open_orders = [order for order in followed if order.get("status") not in FINAL_STATUSES]
    if open_orders:
        problems.append(f"{len(open_orders)} order(s) not final in time")
    other = [order for order in followed if order.get("status") in FINAL_STATUSES - {"confirmed"}]
    if other:
        problems.append(
            f"{len(other)} order(s) {', '.join(sorted({o['status'] for o in other}))}"
            " instead of confirmed"
        )
    twice = [
        order["order_id"]
        for order in followed
        if len(order.get("event_types", [])) != len(set(order.get("event_types", [])))
    ]
    if twice:
        problems.append(f"{len(twice)} order stream(s) with an event type twice")
    return problems


def backlog_grew(orders: Sequence[Mapping[str, Any]], slack_s: float = 2.0) -> bool:
    """Whether the last third of the orders took much longer than the first third."""
    ordered = sorted(
        (order for order in orders if order.get("confirmed_at") is not None),
        key=lambda order: order["posted_at"],
    )
    third = len(ordered) // 3
    if third < 3:
        return False
    first = e2e_latencies(ordered[:third])
    last = e2e_latencies(ordered[-third:])
    return percentile(last, 50) > percentile(first, 50) + slack_s


@dataclass
class StoreCounts:
    """Per order, what each service's own store holds."""

    reservations: dict[str, str] = field(default_factory=dict)
    payment_results: dict[str, dict[str, int]] = field(default_factory=dict)
    emails_recorded: dict[str, dict[str, int]] = field(default_factory=dict)
    mailbox: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    analytics: dict[str, dict[str, int]] = field(default_factory=dict)
    stock_taken: int | None = None


CUSTOMER_EMAILS = ("OrderPlaced", "OrderConfirmed")
ANALYSED_EVENTS = ("OrderPlaced", "OrderConfirmed")


def effect_problems(orders: Sequence[Mapping[str, Any]], counts: StoreCounts) -> list[str]:
    """Every confirmed order's effect, exactly once, in each service's own store."""
    confirmed = [order for order in orders if order.get("status") == "confirmed"]
    lost: dict[str, int] = {}
    twice: dict[str, int] = {}

    def expect(what: str, found: int, wanted: int = 1) -> None:
        if found < wanted:
            lost[what] = lost.get(what, 0) + 1
        elif found > wanted:
            twice[what] = twice.get(what, 0) + 1

    for order in confirmed:
        order_id = order["order_id"]
        expect("reservation", int(counts.reservations.get(order_id) == "reserved"))
        results = counts.payment_results.get(order_id, {})
        expect("payment authorized", results.get("authorized", 0))
        expect("payment captured", results.get("captured", 0))
        recorded = counts.emails_recorded.get(order_id, {})
        for event_type in CUSTOMER_EMAILS:
            expect(f"e-mail record {event_type}", recorded.get(event_type, 0))
        expect(
            "SES mailbox message", counts.mailbox.get(order["recipient"], 0), len(CUSTOMER_EMAILS)
        )
        expect("fraud verdict", counts.verdicts.get(order_id, 0), int(bool(order["screened"])))
        analysed = counts.analytics.get(order_id, {})
        for event_type in ANALYSED_EVENTS:
            expect(f"analytics {event_type}", analysed.get(event_type, 0))
    problems = [f"{n} order(s) missing {what}" for what, n in sorted(lost.items())]
    problems += [f"{n} order(s) with {what} more than once" for what, n in sorted(twice.items())]
    reserved = sum(
        1 for order in orders if counts.reservations.get(order.get("order_id", "")) == "reserved"
    )
    if counts.stock_taken is not None and counts.stock_taken > reserved:
        problems.append(
            f"stock taken more than once: down by {counts.stock_taken}"
            f" for {reserved} reservation(s)"
        )
    elif counts.stock_taken is not None and counts.stock_taken < reserved:
        problems.append(
            f"stock decrement missing: down by {counts.stock_taken} for {reserved} reservation(s)"
        )
    return problems


def read_only(url: str) -> str:
    """A SQLite URL opened read-only (never creating the file); other URLs unchanged."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return url
    return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"


class Stores:
    """Reads the databases of the stack's Lambdas (URLs from their configuration) and the SES
    mailbox of LocalStack: read-only, never through the services' code."""

    SERVICES = ("inventory", "payments", "email", "fraud", "analytics")

    def __init__(self, endpoint: str, stack: str) -> None:
        from sqlalchemy import create_engine

        self.endpoint = endpoint
        lam = aws_client("lambda", endpoint)
        self.urls = {
            service: lam.get_function_configuration(FunctionName=f"{stack}-{service}")[
                "Environment"
            ]["Variables"]["DATABASE_URL"]
            for service in self.SERVICES
        }
        self.engines = {
            service: create_engine(read_only(url)) for service, url in self.urls.items()
        }

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def _rows(self, service: str, sql: str, order_ids: Sequence[str]) -> list[Any]:
        from sqlalchemy import bindparam, text

        rows: list[Any] = []
        statement = text(sql).bindparams(bindparam("ids", expanding=True))
        with self.engines[service].connect() as conn:
            for start in range(0, len(order_ids), 500):
                rows += conn.execute(statement, {"ids": list(order_ids[start : start + 500])}).all()
        return rows

    def available(self, sku: str) -> int:
        from sqlalchemy import text

        with self.engines["inventory"].connect() as conn:
            value = conn.execute(
                text("SELECT available FROM inventory_stock WHERE sku = :sku"), {"sku": sku}
            ).scalar()
        return int(value or 0)

    def most_stocked_sku(self) -> tuple[str, int]:
        from sqlalchemy import text

        with self.engines["inventory"].connect() as conn:
            row = conn.execute(
                text("SELECT sku, available FROM inventory_stock ORDER BY available DESC LIMIT 1")
            ).one()
        return str(row[0]), int(row[1])

    def mailbox(self) -> dict[str, int]:
        import httpx

        messages = httpx.get(f"{self.endpoint}/_aws/ses", timeout=30).json()["messages"]
        counts: dict[str, int] = {}
        for message in messages:
            for address in message.get("Destination", {}).get("ToAddresses", []):
                counts[address] = counts.get(address, 0) + 1
        return counts

    def counts(self, order_ids: Sequence[str], sku: str, stock_before: int) -> StoreCounts:
        counts = StoreCounts()
        for order_id, status in self._rows(
            "inventory",
            "SELECT order_id, status FROM inventory_reservations WHERE order_id IN :ids",
            order_ids,
        ):
            counts.reservations[order_id] = status
        for order_id, result, n in self._rows(
            "payments",
            "SELECT order_id, result, COUNT(*) FROM payments_operations"
            " WHERE order_id IN :ids GROUP BY order_id, result",
            order_ids,
        ):
            counts.payment_results.setdefault(order_id, {})[result] = int(n)
        for order_id, event_type, n in self._rows(
            "email",
            "SELECT order_id, event_type, COUNT(*) FROM email_sent"
            " WHERE order_id IN :ids GROUP BY order_id, event_type",
            order_ids,
        ):
            counts.emails_recorded.setdefault(order_id, {})[event_type] = int(n)
        for order_id, n in self._rows(
            "fraud",
            "SELECT order_id, COUNT(*) FROM fraud_verdicts"
            " WHERE order_id IN :ids GROUP BY order_id",
            order_ids,
        ):
            counts.verdicts[order_id] = int(n)
        for order_id, event_type, n in self._rows(
            "analytics",
            "SELECT order_id, event_type, COUNT(*) FROM analytics_processed_events"
            " WHERE order_id IN :ids GROUP BY order_id, event_type",
            order_ids,
        ):
            counts.analytics.setdefault(order_id, {})[event_type] = int(n)
        counts.mailbox = self.mailbox()
        counts.stock_taken = stock_before - self.available(sku)
        return counts

    def settled_problems(
        self, orders: Sequence[Mapping[str, Any]], sku: str, stock_before: int, timeout: float
    ) -> list[str]:
        """Effect problems once the stores stop changing (e-mails and captures trail the
        confirmation), or as they stand at the deadline."""
        order_ids = [order["order_id"] for order in orders if "order_id" in order]
        deadline = time.monotonic() + timeout
        while True:
            problems = effect_problems(orders, self.counts(order_ids, sku, stock_before))
            if not problems or time.monotonic() >= deadline:
                return problems
            time.sleep(0.5)


# --- message counts from LocalStack's CloudWatch metrics ---------------------------------------


def sqs_deliveries(
    target: Target, handlers: Mapping[str, Mapping[str, Any]], orders: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """SQS deliveries of a run: records the queue-fed functions dealt with (their log lines)
    plus the replies recorded in the orders' streams (each came through the order-updates
    queue). LocalStack's CloudWatch SQS metrics cannot be used: every empty poll of a mapping
    is a NumberOfEmptyReceives data point through a three-thread dispatcher, whose backlog
    makes the points trail the receives by minutes."""
    from shared.contracts import ORDER_EVENTS

    lam = aws_client("lambda", target.endpoint)
    fed = {
        mapping["FunctionArn"].rsplit(":", 1)[-1]
        for mapping in lam.list_event_source_mappings()["EventSourceMappings"]
        if ":sqs:" in mapping.get("EventSourceArn", "")
    }
    queues = {
        function: int(handler["records"])
        for function, handler in handlers.items()
        if function in fed and function.startswith(f"{target.stack}-")
    }
    own = {contract.__name__ for contract in ORDER_EVENTS}
    replies = sum(
        1
        for order in orders
        for event_type in order.get("event_types", [])
        if event_type not in own
    )
    return {
        "source": "queue-fed Lambdas' logged records + replies in the order streams",
        "lambdas": queues,
        "order_updates": replies,
        "total": sum(queues.values()) + replies,
    }


def log_of(endpoint: str) -> Path:
    """The log ``infra.local.localstack_runner`` keeps for the LocalStack at ``endpoint``."""
    return ROOT / ".localstack" / f"localstack-{urllib_port(endpoint)}.log"


def lambda_invocations(endpoint: str, stack: str, began: float, ended: float) -> dict[str, Any]:
    """Invocations between two instants: answered invocations in LocalStack's log (exact, any
    function of that LocalStack), else CloudWatch ``Invocations`` of the stack's functions."""
    logged = localstack_log_counts(log_of(endpoint), began, ended)
    if logged is not None:
        return {"total": logged["lambda_invocations"], "source": "LocalStack log"}
    from datetime import UTC, datetime

    cloudwatch = aws_client("cloudwatch", endpoint)
    lam = aws_client("lambda", endpoint)
    total = 0
    for function in lam.list_functions()["Functions"]:
        if function["FunctionName"].startswith(f"{stack}-"):
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/Lambda",
                MetricName="Invocations",
                Dimensions=[{"Name": "FunctionName", "Value": function["FunctionName"]}],
                StartTime=datetime.fromtimestamp(began, UTC),
                EndTime=datetime.fromtimestamp(ended, UTC),
                Period=max(1, math.ceil(ended - began)),
                Statistics=["Sum"],
            )["Datapoints"]
            total += int(sum(point["Sum"] for point in points))
    return {"total": total, "source": "CloudWatch AWS/Lambda Invocations"}


def urllib_port(endpoint: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(endpoint).port or 80


def localstack_log_counts(log: Path, began: float, ended: float) -> dict[str, int] | None:
    """Counts of ``count_log_lines`` in the LocalStack runner's log (None: no log)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    return count_log_lines(lines, began, ended)


def count_log_lines(lines: Iterable[str], began: float, ended: float) -> dict[str, int]:
    """Lambda invocations answered (an execution environment posted its response or error
    back) and CloudWatch storage failures (metrics lost: host LocalStacks share one metrics
    database that another instance's shutdown can remove) logged between two instants."""
    from datetime import datetime

    counts = {"lambda_invocations": 0, "cloudwatch_failures": 0}
    for line in lines:
        if "/invocations/" in line and ("/response =>" in line or "/error =>" in line):
            key = "lambda_invocations"
        elif "unable to open database file" in line:
            key = "cloudwatch_failures"
        else:
            continue
        try:
            at = datetime.fromisoformat(line[:23]).timestamp()
        except ValueError:
            continue
        if began <= at <= ended:
            counts[key] += 1
    return counts


# --- handler durations, from the host executor's per-environment logs --------------------------

REPORT_LINE = re.compile(r"^REPORT RequestId: \S+\tDuration: ([0-9.]+) ms", re.MULTILINE)


RECORD_OUTCOME = re.compile(
    r'"message":"(?:[A-Za-z]+ handled|already handled: duplicate delivery ignored'
    r'|message [^"]* rejected: [^"]*|[A-Za-z]+ failed; it will be delivered again)"'
)


def records_handled(text: str) -> int:
    """Records a consumer dealt with (handled, duplicate, rejected or failed): one log line
    each from ``shared.consumer``."""
    return len(RECORD_OUTCOME.findall(text))


def report_durations(text: str) -> list[float]:
    """Seconds of each invocation in ``REPORT ... Duration: X ms`` lines."""
    return [float(match.group(1)) / 1000 for match in REPORT_LINE.finditer(text)]


class LambdaLogs:
    """Invocation durations and records dealt with per function since it was made: the host
    executor logs each execution environment to ``<tmp>/localstack-lambda-<runtime id>.log``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.offsets = {path: path.stat().st_size for path in self._logs() if path.exists()}

    def _logs(self) -> dict[Path, str]:
        logs = {}
        for pid, label in stack_processes(self.port, Path(os.devnull)).items():
            runtime_id = proc_environ(pid).get("LOCALSTACK_RUNTIME_ID")
            if label.startswith("lambda ") and runtime_id:
                path = Path(tempfile.gettempdir()) / f"localstack-lambda-{runtime_id}.log"
                logs[path] = label.removeprefix("lambda ")
        return logs

    def figures(self) -> dict[str, dict[str, Any]]:
        durations: dict[str, list[float]] = {}
        records: dict[str, int] = {}
        for path, function in self._logs().items():
            try:
                with path.open("rb") as log:
                    log.seek(self.offsets.get(path, 0))
                    text = log.read().decode(errors="replace")
            except OSError:
                continue
            durations.setdefault(function, []).extend(report_durations(text))
            records[function] = records.get(function, 0) + records_handled(text)
        return {
            function: {
                **latency_summary(values),
                "busy_s": sum(values),
                "records": records[function],
            }
            for function, values in sorted(durations.items())
        }


# --- CPU and memory of the stack's processes, from /proc ---------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return None


def proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of a process, or None once it is gone."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def proc_rss_bytes(pid: int) -> int:
    text = _read(f"/proc/{pid}/status") or ""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def proc_environ(pid: int) -> dict[str, str]:
    text = _read(f"/proc/{pid}/environ") or ""
    return dict(item.split("=", 1) for item in text.split("\0") if "=" in item)


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))) is not None:
            parents[int(entry)] = stat[0]
    return parents


def descendants(root: int, parents: Mapping[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def stack_processes(port: int, orders_pid_file: Path) -> dict[int, str]:
    """Every process of the stack with a label: LocalStack (found by the address it listens
    on), each Lambda execution environment under it, the orders service and its children."""
    parents = _parents()
    labels: dict[int, str] = {}
    listen = f"127.0.0.1:{port}"
    for pid in parents:
        cmdline = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")
        if (
            "localstack.runtime.main" in cmdline
            and proc_environ(pid).get("GATEWAY_LISTEN") == listen
        ):
            for child in descendants(pid, parents):
                function = proc_environ(child).get("AWS_LAMBDA_FUNCTION_NAME")
                labels[child] = f"lambda {function}" if function else "localstack"
    try:
        orders_pid = int(orders_pid_file.read_text())
    except (OSError, ValueError):
        orders_pid = None
    if orders_pid in parents:
        for child in descendants(orders_pid, parents):
            labels[child] = "orders service"
    return labels


class ProcessSampler:
    """Samples CPU ticks and RSS of the stack's processes every ``every`` seconds."""

    def __init__(self, find: Callable[[], dict[int, str]], every: float = 1.0) -> None:
        self.find = find
        self.every = every
        self.first_ticks: dict[int, int] = {}
        self.last_ticks: dict[int, int] = {}
        self.labels: dict[int, str] = {}
        self.peak_rss: dict[str, int] = {}
        self.peak_total_rss = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self.began = time.monotonic()
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join()
        self._sample()
        self.elapsed = time.monotonic() - self.began

    def _run(self) -> None:
        while not self.stopping.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        rss: dict[str, int] = {}
        for pid, label in self.find().items():
            stat = proc_stat(pid)
            if stat is None:
                continue
            self.labels[pid] = label
            self.first_ticks.setdefault(pid, stat[1])
            self.last_ticks[pid] = stat[1]
            rss[label] = rss.get(label, 0) + proc_rss_bytes(pid)
        for label, value in rss.items():
            self.peak_rss[label] = max(self.peak_rss.get(label, 0), value)
        self.peak_total_rss = max(self.peak_total_rss, sum(rss.values()))

    def figures(self) -> dict[str, Any]:
        cpu: dict[str, float] = {}
        pids: dict[str, int] = {}
        for pid, label in self.labels.items():
            used = (self.last_ticks[pid] - self.first_ticks[pid]) / CLOCK_TICKS
            cpu[label] = cpu.get(label, 0.0) + 100 * used / self.elapsed
            pids[label] = pids.get(label, 0) + 1
        return {
            "seconds": self.elapsed,
            "processes": {
                label: {
                    "pids": pids[label],
                    "cpu_percent": cpu[label],
                    "peak_rss_bytes": self.peak_rss.get(label, 0),
                }
                for label in sorted(cpu)
            },
            "cpu_percent": sum(cpu.values()),
            "peak_rss_bytes": self.peak_total_rss,
        }


# --- the stack under test -------------------------------------------------------------------------

BENCH_STACK = "bench"
BENCH_PORT = 4671
BENCH_API_PORT = 8071
DEFAULT_BUDGET_S = 450.0
STEP_SECONDS = 60.0
START_RATE = 3.0
RATE_FACTOR = 1.5
SETTLE_S = 15.0
CHECK_TIMEOUT_S = 20.0
IDLE_SETTLE_S = 5.0
IDLE_SAMPLE_S = 10.0


@dataclass(frozen=True)
class Target:
    stack: str
    port: int
    api_port: int
    site_host: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def orders_pid_file(self) -> Path:
        return ROOT / ".data" / self.stack / "orders.pid"


def _answers(target: Target) -> bool:
    from infra.local import localstack_runner, stack

    return (
        localstack_runner.health(target.port) is not None
        and stack.http_status(f"{target.api_url}/api/health") == 200
    )


@contextmanager
def running_stack(target: Target) -> Iterator[tuple[Target, float | None]]:
    """The stack at ``target`` when it answers; else a ``bench`` stack on the private port,
    brought up (timed) with ``infra.local.stack`` and destroyed afterwards."""
    if _answers(target):
        yield target, None
        return
    from infra.local import stack

    layout = stack.Layout(BENCH_STACK, BENCH_PORT, BENCH_API_PORT)
    own = Target(BENCH_STACK, BENCH_PORT, BENCH_API_PORT, layout.site_host)
    print(
        f"nothing answers on {target.endpoint} / {target.api_url}: starting stack "
        f"{own.stack!r} on {own.endpoint} (API {own.api_url})"
    )
    began = time.monotonic()
    try:
        stack.up(layout)
        yield own, time.monotonic() - began
    finally:
        stack.stop_orders(layout)
        if _localstack_answers(own.port):
            stack.destroy(layout)
        stack.down(layout)


def _localstack_answers(port: int) -> bool:
    from infra.local import localstack_runner

    return localstack_runner.health(port) is not None


def _plan(target: Target, run_id: str, first: int, sku: str, **extra: Any) -> LoadPlan:
    return LoadPlan(
        edge_url=target.endpoint,
        site_host=target.site_host,
        api_url=target.api_url,
        run_id=run_id,
        first_index=first,
        sku=sku,
        **extra,
    )


def _find(target: Target) -> Callable[[], dict[int, str]]:
    return lambda: stack_processes(target.port, target.orders_pid_file)


def seed_sku() -> str:
    """The catalogue's most stocked product (inventory seeds its stock at its cold start)."""
    from shared.catalogue import load_catalogue

    return max(load_catalogue(), key=lambda product: product.initial_stock).sku


def measure_light(
    target: Target, stores: Stores, run_id: str, orders: int
) -> tuple[dict[str, Any], int]:
    """A warm-up (cold starts, one screened order), then one order at a time."""
    warm = run_load(_plan(target, run_id, 0, seed_sku(), orders=2, screen_every=2, settle_s=60))
    sku, stock_before = stores.most_stocked_sku()
    handlers = LambdaLogs(target.port)
    light = run_load(_plan(target, run_id, 2, sku, orders=orders, settle_s=SETTLE_S))
    problems = order_problems(light["orders"])
    problems += stores.settled_problems(light["orders"], sku, stock_before, CHECK_TIMEOUT_S)
    invocations = lambda_invocations(
        target.endpoint, target.stack, light["began_at"] - 0.5, time.time()
    )
    deliveries = sqs_deliveries(
        target, handlers.figures(), refresh_orders(target.api_url, light["orders"])
    )
    figures = {
        "warm_up": {
            "orders": len(warm["orders"]),
            **latency_summary(e2e_latencies(warm["orders"])),
        },
        "orders": orders,
        "latency": latency_summary(e2e_latencies(light["orders"])),
        "stages": stage_latencies(light["orders"]),
        "post_latency": latency_summary([o["post_s"] for o in light["orders"] if "post_s" in o]),
        "sqs_deliveries": deliveries,
        "lambda_invocations": invocations,
        "messages_per_order": (deliveries["total"] + invocations["total"]) / orders
        if orders
        else None,
        "problems": problems,
    }
    return figures, 2 + orders


def measure_step(
    target: Target,
    stores: Stores,
    run_id: str,
    first: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Orders at ``rate`` per second for ``seconds``; whether each reached its final state with
    its effects exactly once, what the stack used meanwhile, and the messages it caused."""
    sku, stock_before = stores.most_stocked_sku()
    planned = round(rate * seconds)
    if stock_before < planned:
        return {"rate": rate, "passed": False, "problems": [f"only {stock_before} {sku} left"]}
    durations = LambdaLogs(target.port)
    with ProcessSampler(_find(target)) as sampler:
        load = run_load(_plan(target, run_id, first, sku, rate=rate, seconds=seconds))
    orders = load["orders"]
    problems = order_problems(orders)
    placed = load["placed_per_s"] or 0.0
    if placed < 0.95 * rate:
        problems.append(f"the load generator placed only {placed:.2f} orders/s")
    if backlog_grew(orders):
        problems.append("latency grew during the step (a backlog built up)")
    problems += stores.settled_problems(orders, sku, stock_before, CHECK_TIMEOUT_S)
    invocations = lambda_invocations(
        target.endpoint, target.stack, load["began_at"] - 0.5, time.time()
    )
    handlers = durations.figures()
    deliveries = sqs_deliveries(target, handlers, refresh_orders(target.api_url, orders))
    caused = invocations["total"] + deliveries["total"]
    return {
        "rate": rate,
        "seconds": seconds,
        "orders": len(orders),
        "placed_per_s": placed,
        "confirmed": sum(1 for o in orders if o.get("status") == "confirmed"),
        "latency": latency_summary(e2e_latencies(orders)),
        "stages": stage_latencies(orders),
        "lambda_invocations": invocations,
        "sqs_deliveries": deliveries,
        "messages_per_order": caused / len(orders) if orders else None,
        "messages_per_s": caused / seconds,
        "resources": sampler.figures(),
        "handler_durations": handlers,
        "recheck": {"orders": orders, "sku": sku, "stock_before": stock_before},
        "problems": problems,
        "passed": not problems,
    }


def measure_stack(
    target: Target, budget_s: float, step_seconds: float, light_orders: int
) -> dict[str, Any]:
    began = time.monotonic()
    run_id = uuid.uuid4().hex[:8]
    stores = Stores(target.endpoint, target.stack)
    try:
        light, first = measure_light(target, stores, run_id, light_orders)
        steps: list[dict[str, Any]] = []
        step_cost = step_seconds + SETTLE_S + CHECK_TIMEOUT_S
        while (
            rate := next_rate(
                [RateStep(s["rate"], s["passed"]) for s in steps],
                start=START_RATE,
                factor=RATE_FACTOR,
            )
        ) is not None:
            if time.monotonic() - began + step_cost > budget_s:
                print(f"  (no time left in the budget for a step at {rate:g} orders/s)")
                break
            rate = round(rate, 2)
            print(f"  sustained step: {rate:g} orders/s for {step_seconds:.0f} s ...", flush=True)
            step = measure_step(
                target,
                stores,
                run_id,
                first,
                rate,
                step_seconds,
            )
            first += step.get("orders", 0)
            steps.append(step)
            print(
                f"    {verdict(step['passed'])}"
                + (f": {'; '.join(step['problems'])}" if step["problems"] else ""),
                flush=True,
            )
            if not step["passed"] and "recheck" in step:
                step["after_drain_problems"] = recheck_after_drain(target, stores, step)
                print(
                    "    after draining: "
                    + ("; ".join(step["after_drain_problems"]) or "every effect once"),
                    flush=True,
                )
        for step in steps:
            step.pop("recheck", None)
    finally:
        stores.close()
    passing = [s for s in steps if s["passed"]]
    return {
        "run_id": run_id,
        "light": light,
        "steps": steps,
        "sustained": max(passing, key=lambda s: s["rate"]) if passing else None,
        "databases": {service: _redacted(url) for service, url in stores.urls.items()},
    }


def recheck_after_drain(target: Target, stores: Stores, step: Mapping[str, Any]) -> list[str]:
    """Once the queues are empty, what of a failed step is really lost or done twice (at the
    end of the step much of it was only late)."""
    _drain(target)
    recheck = step["recheck"]
    orders = refresh_orders(target.api_url, recheck["orders"])
    return order_problems(orders) + stores.settled_problems(
        orders, recheck["sku"], recheck["stock_before"], CHECK_TIMEOUT_S
    )


def _redacted(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def refresh_orders(api_url: str, orders: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The orders as they stand now (status, events), read from the orders API."""
    import httpx

    refreshed = []
    with httpx.Client(base_url=api_url, timeout=30) as client:
        for order in orders:
            current = dict(order)
            if "order_id" in order:
                current["status"] = client.get(f"/api/orders/{order['order_id']}").json()["status"]
                events = client.get(f"/api/orders/{order['order_id']}/events").json()["events"]
                current["event_types"] = [event["type"] for event in events]
                current["event_times"] = {e["type"]: _epoch(e["recorded_at"]) for e in events}
                confirmed = current["event_times"].get("OrderConfirmed")
                current["confirmed_at"] = confirmed
            refreshed.append(current)
    return refreshed


def _drain(target: Target, timeout: float = 60.0) -> None:
    """Wait until the stack's queues are empty after a step it could not keep up with."""
    sqs = aws_client("sqs", target.endpoint)
    urls = sqs.list_queues(QueueNamePrefix=f"{target.stack}-").get("QueueUrls", [])

    def empty() -> bool:
        for url in urls:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return False
        return True

    try:
        wait_for(empty, timeout, "the stack's queues drained", every=1.0)
    except TimeoutError as error:
        print(f"    ({error}; continuing)")


# --- targets, table, entry points ---------------------------------------------------------------


def evaluate(figures: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of issue 8 with its measured value and PASS/FAIL (None: not measured)."""
    stack = figures.get("stack") or {}
    light = stack.get("light") or {}
    latency = light.get("latency") or {}
    sustained = stack.get("sustained")
    ceiling = figures["ceilings"]["sqs_lambda_sqs"]["messages_per_s"]
    rate = sustained["messages_per_s"] if sustained else None
    ratio = rate / ceiling if rate is not None and ceiling else None
    problems = list(light.get("problems", [])) + [
        problem
        for step in stack.get("steps", [])
        for problem in step.get("after_drain_problems", step["problems"])
    ]
    checked = bool(light) or bool(stack.get("steps"))
    memory = max(
        [figures.get("idle", {}).get("peak_rss_bytes", 0)]
        + [s["resources"]["peak_rss_bytes"] for s in stack.get("steps", []) if "resources" in s]
    )

    def target(value: Any, limit: Any, passed: bool | None) -> dict[str, Any]:
        return {"value": value, "target": limit, "passed": passed}

    p50, p99 = latency.get("p50_s"), latency.get("p99_s")
    lost_or_twice = [
        p
        for p in problems
        if any(word in p for word in ("missing", "more than once", "twice", "not final"))
    ]
    return {
        "light_p50_s": target(
            p50, TARGET_LIGHT_P50_S, None if p50 is None else p50 <= TARGET_LIGHT_P50_S
        ),
        "light_p99_s": target(
            p99, TARGET_LIGHT_P99_S, None if p99 is None else p99 <= TARGET_LIGHT_P99_S
        ),
        "ceiling_ratio": target(
            ratio, TARGET_CEILING_RATIO, None if ratio is None else ratio >= TARGET_CEILING_RATIO
        ),
        "nothing_lost_or_duplicated": target(
            len(lost_or_twice),
            0,
            (not lost_or_twice and sustained is not None) if checked else None,
        ),
        "stack_memory_bytes": target(
            memory or None,
            TARGET_STACK_MEMORY_BYTES,
            (memory <= TARGET_STACK_MEMORY_BYTES) if memory else None,
        ),
    }


def measure(
    port: int = 4566,
    stack: str = "shop",
    api_port: int = 8000,
    site_host: str | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    step_seconds: float = STEP_SECONDS,
    light_orders: int = 20,
) -> dict[str, Any]:
    """Every figure of this bench as a dict (for ``bench/startup.py``)."""
    from infra.local.stack import Layout

    began = time.monotonic()
    wanted = Target(stack, port, api_port, site_host or Layout(stack, port, api_port).site_host)
    with running_stack(wanted) as (target, up_s):
        print(f"idle CPU of the stack for {IDLE_SAMPLE_S:.0f} s ...", flush=True)
        time.sleep(IDLE_SETTLE_S)
        with ProcessSampler(_find(target)) as idle:
            time.sleep(IDLE_SAMPLE_S)
        print(f"ceilings on {target.endpoint} ...", flush=True)
        ceilings = measure_ceilings(target.endpoint, target.stack)
        print(f"stack {target.stack!r}: light load, then sustained steps ...", flush=True)
        remaining = budget_s - (time.monotonic() - began)
        stack_figures = measure_stack(target, remaining, step_seconds, light_orders)
    figures: dict[str, Any] = {
        "measured_at": time.time(),
        "target": asdict(target),
        "up_to_ready_s": up_s,
        "idle": idle.figures(),
        "ceilings": ceilings,
        "stack": stack_figures,
        "bench_seconds": time.monotonic() - began,
    }
    figures["targets"] = evaluate(figures)
    return figures


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024**2:.0f}"


def render(figures: Mapping[str, Any]) -> str:
    """The figures as text tables, with PASS/FAIL beside each target."""
    out = []
    ceilings = figures["ceilings"]
    mapping = ceilings["sqs_lambda_sqs"]["mapping"]
    out.append(
        f"Emulator ceilings (no application code; mapping batch {mapping['batch_size']}, "
        f"window {mapping['batching_window_s']} s, concurrency {mapping['maximum_concurrency']},"
        f" from {mapping['source']})"
    )
    rows = []
    for name, key in (
        ("SQS -> Lambda -> SQS", "sqs_lambda_sqs"),
        ("FIFO (group/msg) -> Lambda", "fifo_lambda_sqs"),
        ("SNS -> SQS -> receive", "sns_sqs"),
    ):
        loop = ceilings[key]
        rows.append(
            [
                name,
                _fmt(loop["messages_per_s"], 1),
                _fmt(loop["light"]["p50_s"], 0, 1000),
                _fmt(loop["light"]["p95_s"], 0, 1000),
                _fmt(loop["burst"]["latency"]["p50_s"], 0, 1000),
                str(loop["duplicates"]),
            ]
        )
    out.append(
        format_table(rows, ["loop", "msgs/s", "p50 ms", "p95 ms", "burst p50 ms", "duplicates"])
    )
    stack = figures["stack"]
    targets = figures["targets"]
    out.append("")
    out.append("End to end: POST /api/orders (through the edge) -> OrderConfirmed recorded")
    rows = []
    light = stack["light"]
    rows.append(
        [
            "warm-up (cold Lambdas)",
            str(light["warm_up"]["orders"]),
            "-",
            _fmt(light["warm_up"]["p50_s"]),
            "-",
            "-",
            "",
        ]
    )
    lat = light["latency"]
    rows.append(
        [
            "light (one at a time)",
            str(lat["count"]),
            "-",
            f"{_fmt(lat['p50_s'])} {verdict(targets['light_p50_s']['passed'])}",
            _fmt(lat["p95_s"]),
            f"{_fmt(lat['p99_s'])} {verdict(targets['light_p99_s']['passed'])}",
            "; ".join(light["problems"]) or "ok",
        ]
    )
    for step in stack["steps"]:
        lat = step.get("latency") or latency_summary([])
        rows.append(
            [
                f"step {step['rate']:g}/s x {step.get('seconds', 0):.0f} s",
                str(step.get("orders", 0)),
                _fmt(step.get("placed_per_s")),
                _fmt(lat["p50_s"]),
                _fmt(lat["p95_s"]),
                _fmt(lat["p99_s"]),
                f"{verdict(step['passed'])} "
                + ("; ".join(step["problems"]) or "")
                + (
                    " | after draining: "
                    + ("; ".join(step["after_drain_problems"]) or "all done once")
                    if "after_drain_problems" in step
                    else ""
                ),
            ]
        )
    out.append(
        format_table(rows, ["run", "orders", "placed/s", "p50 s", "p95 s", "p99 s", "outcome"])
    )
    out.append("targets: light p50 <= 1.5 s, light p99 <= 4 s")
    sustained = stack["sustained"]
    out.append("")
    ceiling = ceilings["sqs_lambda_sqs"]["messages_per_s"]
    if sustained:
        ratio = targets["ceiling_ratio"]
        out.append(
            f"Sustained: {sustained['rate']:g} orders/s for {sustained['seconds']:.0f} s, every "
            "order confirmed with its effects once in every store"
        )
        deliveries = sustained["sqs_deliveries"]
        out.append(
            f"pipeline message rate {sustained['messages_per_s']:.1f}/s "
            f"({sustained['messages_per_order']:.1f} per order) = "
            f"{sustained['lambda_invocations']['total']} Lambda invocations "
            f"({sustained['lambda_invocations']['source']}) + {deliveries['total']} SQS "
            f"deliveries ({sum(deliveries['lambdas'].values())} to Lambdas, from their logs; "
            f"{deliveries['order_updates']} order updates, from the order streams) "
            f"in {sustained['seconds']:.0f} s"
        )
        out.append(
            f"  = {ratio['value']:.1%} of the bare SQS -> Lambda ceiling {ceiling:.1f}/s "
            f"(target >= 50%): {verdict(ratio['passed'])}"
        )
    else:
        out.append("Sustained: no rate step passed: FAIL")
    out.append("")
    out.append("Where an order's time goes: POST -> event recorded, p50 / p95 s")
    runs = [("light", light)] + ([(f"{sustained['rate']:g}/s", sustained)] if sustained else [])
    kinds = list(dict.fromkeys(kind for _, run in runs for kind in run.get("stages", {})))
    rows = [
        [kind]
        + [
            f"{_fmt(run['stages'][kind]['p50_s'])} / {_fmt(run['stages'][kind]['p95_s'])}"
            if kind in run.get("stages", {})
            else "-"
            for _, run in runs
        ]
        for kind in kinds
    ]
    out.append(format_table(rows, ["event", *(name for name, _ in runs)]))
    failed = [step for step in stack["steps"] if not step["passed"] and "handler_durations" in step]
    profiled = ([(f"{sustained['rate']:g}/s", sustained)] if sustained else []) + [
        (f"{step['rate']:g}/s (failed)", step) for step in failed[:1]
    ]
    if profiled:
        out.append("")
        out.append(
            "Lambda handlers: invocations, p50 ms, busy % of the step (one environment each)"
        )
        functions = sorted({f for _, step in profiled for f in step["handler_durations"]})
        rows = []
        for function in functions:
            row = [function]
            for _, step in profiled:
                handler = step["handler_durations"].get(function)
                row.append(
                    "-"
                    if handler is None or not handler["count"]
                    else f"{handler['count']}  {_fmt(handler['p50_s'], 0, 1000)}  "
                    f"{100 * handler['busy_s'] / step['seconds']:.0f}%"
                )
            rows.append(row)
        out.append(format_table(rows, ["function", *(name for name, _ in profiled)]))
    out.append("")
    lost = targets["nothing_lost_or_duplicated"]
    out.append(
        "nothing lost or duplicated (orders, reservations + stock, payments, e-mail records + SES "
        f"mailbox, fraud verdicts, analytics): {verdict(lost['passed'])}"
    )
    out.append("")
    resources = sustained["resources"] if sustained else None
    idle = figures["idle"]
    rows = []
    labels = sorted(set(idle["processes"]) | set(resources["processes"] if resources else {}))
    for label in labels:
        at_idle = idle["processes"].get(label, {})
        loaded = resources["processes"].get(label, {}) if resources else {}
        rows.append(
            [
                label,
                str(max(at_idle.get("pids", 0), loaded.get("pids", 0))),
                _fmt(at_idle.get("cpu_percent"), 1),
                _fmt(loaded.get("cpu_percent"), 1),
                _mib(max(at_idle.get("peak_rss_bytes", 0), loaded.get("peak_rss_bytes", 0))),
            ]
        )
    rows.append(
        [
            "total",
            "",
            _fmt(idle["cpu_percent"], 1),
            _fmt(resources["cpu_percent"] if resources else None, 1),
            _mib(targets["stack_memory_bytes"]["value"]),
        ]
    )
    out.append("Stack processes (CPU % of one core; RSS peak; 2 cores here)")
    out.append(format_table(rows, ["process", "pids", "cpu idle", "cpu load", "RSS MiB"]))
    memory = targets["stack_memory_bytes"]
    out.append(f"stack memory <= 2048 MiB: {verdict(memory['passed'])}")
    up = figures.get("up_to_ready_s")
    out.append(
        f"up to ready: {up:.1f} s"
        if up is not None
        else "up to ready: - (the stack was already up)"
    )
    out.append(f"bench time: {figures['bench_seconds']:.0f} s")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT", 4566)))
    parser.add_argument("--stack", default=os.environ.get("STACK_NAME", "shop"))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", 8000)))
    parser.add_argument("--site-host", help="Host header of the site (default: the stack's)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds in all")
    parser.add_argument("--step-seconds", type=float, default=STEP_SECONDS)
    parser.add_argument("--light-orders", type=int, default=20)
    parser.add_argument("--ceilings-only", action="store_true", help="only the emulator ceilings")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the figures")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("load", help="(internal) the load generator process")
    load.add_argument("plan", help="a LoadPlan as JSON")
    args = parser.parse_args(argv)
    if args.command == "load":
        import asyncio

        plan = LoadPlan(**json.loads(args.plan))
        print(json.dumps(asyncio.run(generate_load(plan))))
        return 0
    if args.ceilings_only:
        endpoint = f"http://127.0.0.1:{args.port}"
        print(json.dumps(measure_ceilings(endpoint, args.stack), indent=2))
        return 0
    figures = measure(
        args.port,
        args.stack,
        args.api_port,
        args.site_host,
        args.budget,
        args.step_seconds,
        args.light_orders,
    )
    print()
    print(render(figures))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\nwritten to {args.json}")
    missed = [name for name, t in figures["targets"].items() if t["passed"] is not True]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
