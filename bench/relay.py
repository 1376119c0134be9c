"""The outbox relay's publish rate and latency, on LocalStack (SNS, FIFO queue, EventBridge).

The outbox is seeded by placing orders through the orders API while no relay runs; then the
relay starts (``python -m services.orders relay``) and drains it. The publish window is read
at the destinations (``SentTimestamp`` of the first and last message at the payments FIFO
queue and at a queue subscribed to the topic), so the relay's start-up is not part of it;
``outbox-status`` confirms the backlog before and its end after. Then, with the relay running
as in production, the latency from an order's commit (the answer to its placement) to its
OrderPlaced arriving at a queue subscribed to the topic.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench import orders_service
from bench.aws import emulator_client, quietly, subscribe_raw, wait_for
from bench.http_load import ORDER

DRAIN_TIMEOUT_S = 300.0
ARRIVAL_TIMEOUT_S = 30.0
SEED_CONCURRENCY = 8


def publish_window(sent_timestamps_ms: Iterable[int]) -> float:
    """Seconds from the first to the last message published (SQS ``SentTimestamp``, ms)."""
    stamps = list(sent_timestamps_ms)
    return (max(stamps) - min(stamps)) / 1000


def _place_orders(api_url: str, orders: int) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as client:

        def place(_: int) -> None:
            client.post("/api/orders", json=ORDER).raise_for_status()

        with ThreadPoolExecutor(SEED_CONCURRENCY) as pool:
            list(pool.map(place, range(orders)))


def _depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _sent_timestamps(sqs: Any, queue_url: str, expected: int) -> list[int]:
    """``SentTimestamp`` of the first ``expected`` distinct messages of a queue."""
    stamps: dict[str, int] = {}
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while len(stamps) < expected and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["SentTimestamp"],
            VisibilityTimeout=600,
            WaitTimeSeconds=1,
        ).get("Messages", []):
            stamps[message["MessageId"]] = int(message["Attributes"]["SentTimestamp"])
    return list(stamps.values())


def _place_to_queue(client: httpx.Client, sqs: Any, arrivals: str) -> float:
    """Seconds from the answer to an order's placement (its commit) to its OrderPlaced in the
    ``arrivals`` queue."""
    placed = client.post("/api/orders", json=ORDER)
    began = time.perf_counter()
    placed.raise_for_status()
    order_id = placed.json()["order_id"]
    while True:
        messages = sqs.receive_message(
            QueueUrl=arrivals, MaxNumberOfMessages=1, WaitTimeSeconds=5
        ).get("Messages", [])
        if any(_is_placed(json.loads(m["Body"]), order_id) for m in messages):
            return time.perf_counter() - began
        if time.perf_counter() - began > ARRIVAL_TIMEOUT_S:
            raise SystemExit(f"an OrderPlaced did not arrive within {ARRIVAL_TIMEOUT_S:.0f} s")


def _is_placed(envelope: dict[str, Any], order_id: str) -> bool:
    return envelope.get("type") == "OrderPlaced" and envelope.get("correlation_id") == order_id


def measure_relay(endpoint: str, orders: int = 1000, latency_samples: int = 30) -> dict[str, Any]:
    """Publish ``orders`` x (SNS + bus + FIFO) outbox records from a full outbox (messages per
    second); then, with the relay running, the latency from an order's commit to its
    OrderPlaced arriving at a queue subscribed to the topic."""
    sqs = emulator_client("sqs", endpoint)
    sns = emulator_client("sns", endpoint)
    events = emulator_client("events", endpoint)
    name = f"bench-relay-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    fifo = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    events.create_event_bus(Name=name)
    queues = [fifo]

    def subscribed_queue(suffix: str) -> str:
        url: str = sqs.create_queue(QueueName=f"{name}-{suffix}")["QueueUrl"]
        queues.append(url)
        subscribe_raw(sns, sqs, topic, url)
        return url

    try:
        fan_out = subscribed_queue("fan-out")
        with tempfile.TemporaryDirectory() as scratch:
            env = orders_service.environment(
                f"sqlite:///{scratch}/relay.db",
                topic_arn=topic,
                payments_queue_url=fifo,
                event_bus_name=name,
                updates_queue_url=fifo,
                aws_endpoint_url=endpoint,
            )
            with orders_service.api(env) as api_url:
                _place_orders(api_url, orders)
            seeded = orders_service.outbox_status(env)
            with orders_service.relay(env) as relaying:

                def published() -> bool:
                    if relaying.poll() is not None:
                        raise SystemExit(f"the relay exited with {relaying.returncode}")
                    return min(_depth(sqs, fifo), _depth(sqs, fan_out)) >= orders

                wait_for(published, DRAIN_TIMEOUT_S, "the seeded outbox published", every=0.25)
                wait_for(
                    lambda: orders_service.outbox_status(env)["backlog"] == 0,
                    60,
                    "the outbox empty",
                    every=0.5,
                )
                elapsed = publish_window(
                    _sent_timestamps(sqs, fifo, orders) + _sent_timestamps(sqs, fan_out, orders)
                )
                arrivals = subscribed_queue("latency")
                with (
                    orders_service.api(env) as api_url,
                    httpx.Client(base_url=api_url, timeout=30) as client,
                ):
                    latencies = [
                        _place_to_queue(client, sqs, arrivals) for _ in range(latency_samples)
                    ]
    finally:
        quietly(lambda: events.delete_event_bus(Name=name))
        quietly(lambda: sns.delete_topic(TopicArn=topic))
        for queue in queues:
            quietly(lambda queue=queue: sqs.delete_queue(QueueUrl=queue))  # type: ignore[misc]
    return relay_figures(seeded, elapsed, latencies)


def relay_figures(
    seeded: dict[str, Any], elapsed: float, latencies: Sequence[float]
) -> dict[str, Any]:
    ordered = sorted(latencies)
    published = int(seeded["backlog"])
    return {
        "messages": published,
        "destinations": {name: d["backlog"] for name, d in seeded["destinations"].items()},
        "seconds": elapsed,
        "messages_per_s": published / elapsed,
        "clock": "SentTimestamp of the first and last message at the FIFO and fan-out queues",
        "commit_to_queue_p50_ms": 1000 * statistics.median(ordered),
        "commit_to_queue_max_ms": 1000 * ordered[-1],
    }


def measure_relay_on_own_localstack(port: int, orders: int = 1000) -> dict[str, Any]:
    """``measure_relay`` on a LocalStack started on ``port`` (which must be free) and stopped."""
    from infra.local.localstack_runner import health, start, stop
    from infra.local.stack import LOCALSTACK_PYTHON

    if health(port):
        raise SystemExit(f"port {port} already answers: pass --relay-endpoint to use it")
    start(port, "test", LOCALSTACK_PYTHON, 60)
    try:
        return measure_relay(f"http://127.0.0.1:{port}", orders)
    finally:
        stop(port)
