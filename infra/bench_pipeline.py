"""The order pipeline against the emulator's own ceiling (issue 8).

``python -m infra.bench_pipeline`` (or ``measure()`` from ``infra/bench.py``) prints a table and
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

The load generator runs in its own process (``python -m infra.bench_pipeline load ...``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    source: str = "infra.deploy test profile"


def stack_mapping_settings(endpoint: str, stack: str | None) -> MappingSettings:
    """The settings of the stack's first standard-queue mapping, else the test profile's."""
    from infra import deploy

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


def _burst(
    send_batch: Callable[[list[int]], None], collector: Collector, first: int, messages: int
) -> dict[str, Any]:
    """Send ``messages`` as fast as four threads can, then wait for all to arrive."""
    indices = list(range(first, first + messages))
    batches = [indices[i : i + 10] for i in range(0, len(indices), 10)]
    began = time.time()
    threads = [
        threading.Thread(target=lambda part=batches[k::4]: [send_batch(b) for b in part])  # type: ignore[misc]
        for k in range(4)
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
) -> dict[str, Any]:
    """Bare SQS -> Lambda (forwarder, ReportBatchItemFailures) -> SQS on ``endpoint``."""
    sqs = aws_client("sqs", endpoint)
    lam = aws_client("lambda", endpoint)
    name = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    source = sqs.create_queue(QueueName=f"{name}-in", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
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
        mapping_uuid = lam.create_event_source_mapping(
            EventSourceArn=source_arn,
            FunctionName=name,
            BatchSize=mapping.batch_size,
            MaximumBatchingWindowInSeconds=mapping.batching_window_s,
            ScalingConfig={"MaximumConcurrency": max(2, mapping.maximum_concurrency)},
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )["UUID"]
        wait_for(
            lambda: lam.get_event_source_mapping(UUID=mapping_uuid)["State"] == "Enabled",
            30,
            "the ceiling's event source mapping enabled",
        )

        def send(index: int) -> None:
            sqs.send_message(QueueUrl=source, MessageBody=_stamp(index))

        def send_batch(indices: list[int]) -> None:
            sqs.send_message_batch(
                QueueUrl=source,
                Entries=[{"Id": str(i), "MessageBody": _stamp(i)} for i in indices],
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
    name = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
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
    except Exception as error:  # noqa: BLE001 - clean-up must not hide the measurement
        print(f"  (clean-up: {error})", file=sys.stderr)


def measure_ceilings(endpoint: str, stack: str | None = None) -> dict[str, Any]:
    mapping = stack_mapping_settings(endpoint, stack)
    return {
        "sqs_lambda_sqs": measure_sqs_lambda_ceiling(endpoint, mapping),
        "sns_sqs": measure_sns_sqs_ceiling(endpoint),
    }


if __name__ == "__main__":
    print(
        json.dumps(
            measure_ceilings(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4671"),
            indent=2,
        )
    )
