"""The emulator's own ceilings, with no application code: a bare SQS -> Lambda (forwarder,
ReportBatchItemFailures) -> SQS loop, the same from a FIFO queue, and a bare SNS -> SQS (raw)
-> receive loop; latency one message at a time and messages per second in a burst."""

from __future__ import annotations

import io
import json
import random
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.aws import emulator_client, queue_arn, quietly, subscribe_raw, wait_for
from bench.stats import latency_summary, rate_between

LAMBDA_ROLE = "arn:aws:iam::000000000000:role/bench-pipeline"
FORWARDER = Path(__file__).with_name("forwarder.py")


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
    lam = emulator_client("lambda", endpoint)
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
        archive.writestr("forwarder.py", FORWARDER.read_text())
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
    pacing = random.Random(8)  # nosec B311  # a benchmark's reproducible pacing, not a secret
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
    sqs = emulator_client("sqs", endpoint)
    lam = emulator_client("lambda", endpoint)
    name = f"ceiling-{uuid.uuid4().hex[:8]}"
    attributes = {"VisibilityTimeout": "30"} | ({"FifoQueue": "true"} if fifo else {})
    source = sqs.create_queue(
        QueueName=f"{name}-in{'.fifo' if fifo else ''}", Attributes=attributes
    )["QueueUrl"]
    sink = sqs.create_queue(QueueName=f"{name}-out")["QueueUrl"]
    mapping_uuid = None
    try:
        source_arn = queue_arn(sqs, source)
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
        quietly(lambda: lam.delete_function(FunctionName=name))
        for url in (source, sink):
            quietly(lambda url=url: sqs.delete_queue(QueueUrl=url))  # type: ignore[misc]


def measure_sns_sqs_ceiling(
    endpoint: str, light_messages: int = 30, burst_messages: int = 1000
) -> dict[str, Any]:
    """Bare SNS -> SQS (raw delivery) -> receive on ``endpoint``."""
    sqs = emulator_client("sqs", endpoint)
    sns = emulator_client("sns", endpoint)
    name = f"ceiling-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    sink = sqs.create_queue(QueueName=f"{name}-out")["QueueUrl"]
    try:
        subscribe_raw(sns, sqs, topic, sink)

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
        quietly(lambda: sns.delete_topic(TopicArn=topic))
        quietly(lambda: sqs.delete_queue(QueueUrl=sink))


def measure_ceilings(endpoint: str, stack: str | None = None) -> dict[str, Any]:
    mapping = stack_mapping_settings(endpoint, stack)
    return {
        "sqs_lambda_sqs": measure_sqs_lambda_ceiling(endpoint, mapping, burst_messages=600),
        "fifo_lambda_sqs": measure_sqs_lambda_ceiling(
            endpoint, mapping, light_messages=5, burst_messages=100, fifo=True
        ),
        "sns_sqs": measure_sns_sqs_ceiling(endpoint),
    }
