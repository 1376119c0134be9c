"""Order placement against a bare insert, and the outbox relay's publish rate.

``python -m bench.placement`` (or ``measure()`` from ``bench/startup.py``) prints a table:

- placement: ``POST /api/orders`` with a fresh ``Idempotency-Key`` (what a retrying client
  sends) to the real orders API (``create_app``, as ``serve`` runs it)
  next to a bare FastAPI endpoint that inserts one row of the same size as the placement's
  OrderPlaced event and commits, on SQLite and (when 127.0.0.1:5432 answers) on a throwaway
  PostgreSQL database. Each server is uvicorn in its own process; the load generator is another
  process (asyncio + httpx, enough concurrent clients to keep the server saturated). The ratio
  placement/bare has a target of at least 60%.
- relay: messages per second the relay publishes to LocalStack (SNS, FIFO queue, EventBridge),
  against ``--endpoint`` or a LocalStack it starts on port 4568.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOCALSTACK_PORT = 4568
TARGET_RATIO = 0.6
ORDER_LINES = (("MUG-001", 2), ("TEE-002", 1))
ORDER: dict[str, Any] = {
    "customer_email": "ada@example.com",
    "shipping_country": "DE",
    "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in ORDER_LINES],
    "payment_token": "tok_approve",
}


# --- the two servers (uvicorn factories, configured through the environment) -----------------


def placement_app() -> Any:
    """The orders API exactly as ``python -m services.orders serve`` builds it."""
    from services.orders.api import create_app
    from services.orders.config import OrdersSettings
    from shared.settings import load

    return create_app(load(OrdersSettings), emulator_check=lambda: None)


def bare_app() -> Any:
    """One SQLAlchemy insert of a row as large as an OrderPlaced event, and a commit."""
    from fastapi import FastAPI
    from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert

    from shared.database import create_engine_for

    metadata = MetaData()
    rows = Table(
        "bench_bare_rows",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("row_id", String(36), nullable=False),
        Column("payload", JSON, nullable=False),
    )
    engine = create_engine_for(os.environ["BENCH_DATABASE_URL"])
    metadata.create_all(engine)
    padding = "x" * int(os.environ["BENCH_ROW_BYTES"])
    app = FastAPI()

    @app.post("/api/orders", status_code=201)
    def place(body: dict[str, Any]) -> dict[str, str]:
        row_id = str(uuid.uuid4())
        with engine.begin() as conn:
            conn.execute(insert(rows).values(row_id=row_id, payload={**body, "pad": padding}))
        return {"order_id": row_id}

    return app


def _order_placed_bytes() -> int:
    """Size of the event payload one benchmark order records."""
    from services.orders.adapters.migrations import migrate
    from services.orders.application import OrderService
    from services.orders.domain.commands import LineRequest, PlaceOrder
    from shared.database import create_engine_for

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/size.db"
        migrate(url)
        engine = create_engine_for(url)
        service = OrderService.for_engine(engine)
        order_id = service.new_order_id()
        service.place(
            PlaceOrder(
                order_id=order_id,
                customer_email=str(ORDER["customer_email"]),
                shipping_country=str(ORDER["shipping_country"]),
                currency="EUR",
                lines=tuple(LineRequest(sku, quantity) for sku, quantity in ORDER_LINES),
                payment_token=str(ORDER["payment_token"]),
            )
        )
        (event,) = service.history(order_id)
        engine.dispose()
    return len(json.dumps(event.payload)) + len(json.dumps(event.metadata))


@contextmanager
def _server(factory: str, env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"bench.placement:{factory}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{factory} server exited with {process.returncode}")
            try:
                httpx.get(f"{url}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{factory} server did not answer within 60 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load generator (its own process) ---------------------------------------------------


async def _load(url: str, seconds: float, warmup: float, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        began = time.perf_counter()
        measure_from = began + warmup
        end = measure_from + seconds

        async def user() -> None:
            nonlocal errors
            while (now := time.perf_counter()) < end:
                response = await client.post(
                    "/api/orders", json=ORDER, headers={"Idempotency-Key": str(uuid.uuid4())}
                )
                done = time.perf_counter()
                if now < measure_from:
                    continue
                if response.status_code == 201:
                    latencies.append(done - now)
                else:
                    errors += 1

        await asyncio.gather(*(user() for _ in range(concurrency)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rate_per_s": len(latencies) / seconds,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
    }


def _run_load(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.placement",
            "load",
            url,
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout)
    if not figures["requests"]:
        raise SystemExit(f"no request to {url} succeeded ({figures['errors']} failed)")
    return figures


# --- databases --------------------------------------------------------------------------------


def _postgres_answers() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def _throwaway_postgres(name: str) -> Iterator[str]:
    from sqlalchemy import make_url, text

    from shared.database import create_engine_for

    admin = create_engine_for(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _database(kind: str, scratch: Path, label: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{scratch / f'{label}.db'}"
    else:
        with _throwaway_postgres(f"bench_{label}_{uuid.uuid4().hex[:8]}") as url:
            yield url


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure_placement(
    kinds: list[str], seconds: float = 3.0, concurrency: int = 32, rounds: int = 5
) -> dict[str, Any]:
    """Both servers run side by side and are loaded in turn, ``rounds`` times each (the
    machine's background load hits both alike); each figure is the median over the rounds."""
    row_bytes = _order_placed_bytes()
    figures: dict[str, Any] = {
        "row_bytes": row_bytes,
        "rounds": rounds,
        "seconds": seconds,
        "concurrency": concurrency,
        "load_average_before": os.getloadavg()[0],
    }
    orders_env = {
        "ORDERS_TOPIC_ARN": "arn:aws:sns:us-east-1:000000000000:bench",
        "ORDERS_PAYMENTS_QUEUE_URL": "http://127.0.0.1:1/000000000000/bench.fifo",
        "ORDERS_EVENT_BUS_NAME": "bench",
        "ORDERS_UPDATES_QUEUE_URL": "http://127.0.0.1:1/000000000000/bench-updates",
        "ORDERS_OPERATOR_TOKEN": "bench-operator-token-0123456789",
    }
    with tempfile.TemporaryDirectory() as scratch_dir, ExitStack() as running:
        scratch = Path(scratch_dir)
        for kind in kinds:
            bare_url = running.enter_context(_database(kind, scratch, "bare"))
            placement_url = running.enter_context(_database(kind, scratch, "placement"))
            servers = {
                "bare": running.enter_context(
                    _server(
                        "bare_app",
                        {"BENCH_DATABASE_URL": bare_url, "BENCH_ROW_BYTES": str(row_bytes)},
                        _free_port(),
                    )
                ),
                "placement": running.enter_context(
                    _server(
                        "placement_app",
                        {**orders_env, "ORDERS_DATABASE_URL": placement_url},
                        _free_port(),
                    )
                ),
            }
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
            for _ in range(rounds):
                for name, server in servers.items():
                    runs[name].append(_run_load(server, seconds, concurrency))
            results: dict[str, Any] = {
                name: {
                    figure: statistics.median(run[figure] for run in measured)
                    for figure in ("rate_per_s", "p50_ms", "p99_ms")
                }
                | {"errors": sum(run["errors"] for run in measured)}
                for name, measured in runs.items()
            }
            results["ratio"] = results["placement"]["rate_per_s"] / results["bare"]["rate_per_s"]
            results["target_ratio"] = TARGET_RATIO
            figures[kind] = results
    return figures


# --- the relay ---------------------------------------------------------------------------------


def _append_order(store: Any) -> str:
    """One order's OrderPlaced with its three outbox records; its event id."""
    from services.orders.adapters.event_store import NewEvent, OutboxMessage
    from shared.envelope import Envelope

    order_id = str(uuid.uuid4())
    envelope = Envelope(type="OrderPlaced", correlation_id=order_id, payload={"order_id": order_id})
    body = envelope.model_dump(mode="json")
    store.append(
        order_id,
        0,
        [NewEvent(type=envelope.type, payload=body["payload"], event_id=envelope.event_id)],
        [
            OutboxMessage("sns", body, None, envelope.event_id),
            OutboxMessage("bus", body, None, envelope.event_id),
            OutboxMessage("fifo", body, order_id, envelope.event_id),
        ],
    )
    return str(envelope.event_id)


def measure_relay(endpoint: str, orders: int = 1000, latency_samples: int = 30) -> dict[str, Any]:
    """Publish ``orders`` x (SNS + bus + FIFO) outbox records from a full outbox (messages per
    second); then, with the relay running as in production, the latency from the commit of an
    order to its OrderPlaced arriving at a queue subscribed to the topic."""
    import threading

    import boto3

    from services.orders.adapters.event_store import SqlEventStore
    from services.orders.adapters.migrations import migrate
    from services.orders.config import OrdersSettings
    from services.orders.relay import OutboxRelay, RelaySettings, publishers_for
    from shared.database import create_engine_for
    from shared.settings import AwsSettings

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    session = boto3.Session(region_name="us-east-1")
    sqs = session.client("sqs", endpoint_url=endpoint)
    sns = session.client("sns", endpoint_url=endpoint)
    events = session.client("events", endpoint_url=endpoint)
    name = f"bench-relay-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    fifo = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    events.create_event_bus(Name=name)
    queues = [fifo]

    def subscribed_queue(suffix: str) -> str:
        url: str = sqs.create_queue(QueueName=f"{name}-{suffix}")["QueueUrl"]
        queues.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        return url

    try:
        subscribed_queue("fan-out")
        with tempfile.TemporaryDirectory() as scratch:
            url = f"sqlite:///{scratch}/relay.db"
            migrate(url)
            engine = create_engine_for(url)
            store = SqlEventStore(engine)
            for _ in range(orders):
                _append_order(store)
            settings = OrdersSettings(
                database_url=url,
                topic_arn=topic,
                payments_queue_url=fifo,
                event_bus_name=name,
                updates_queue_url=fifo,
                operator_token="bench-operator-token-0123456789",  # type: ignore[arg-type]
            )
            relay = OutboxRelay(
                store,
                publishers_for(settings, AwsSettings(aws_endpoint_url=endpoint)),
                RelaySettings(),
            )
            began = time.perf_counter()
            published = 0
            while count := relay.relay_once():
                published += count
            elapsed = time.perf_counter() - began

            arrivals = subscribed_queue("latency")
            stop = threading.Event()
            running = threading.Thread(target=relay.run, args=(stop,))
            running.start()
            latencies = []
            try:
                for _ in range(latency_samples):
                    appended = time.perf_counter()
                    event_id = _append_order(store)
                    while True:
                        messages = sqs.receive_message(
                            QueueUrl=arrivals, MaxNumberOfMessages=1, WaitTimeSeconds=5
                        ).get("Messages", [])
                        if any(json.loads(m["Body"])["event_id"] == event_id for m in messages):
                            latencies.append(time.perf_counter() - appended)
                            break
                        if time.perf_counter() - appended > 30:
                            raise SystemExit("an OrderPlaced did not arrive within 30 s")
            finally:
                stop.set()
                running.join()
            engine.dispose()
    finally:
        events.delete_event_bus(Name=name)
        sns.delete_topic(TopicArn=topic)
        for queue in queues:
            sqs.delete_queue(QueueUrl=queue)
    latencies.sort()
    return {
        "messages": published,
        "seconds": elapsed,
        "messages_per_s": published / elapsed,
        "commit_to_queue_p50_ms": 1000 * statistics.median(latencies),
        "commit_to_queue_max_ms": 1000 * latencies[-1],
    }


# --- entry points --------------------------------------------------------------------------------


def measure(
    endpoint: str | None = None,
    seconds: float = 3.0,
    concurrency: int = 32,
    relay_orders: int = 1000,
    rounds: int = 5,
) -> dict[str, Any]:
    """Every figure of this bench as a dict (for ``bench/startup.py``)."""
    kinds = ["sqlite", *(["postgresql"] if _postgres_answers() else [])]
    figures: dict[str, Any] = {"placement": measure_placement(kinds, seconds, concurrency, rounds)}
    if endpoint is not None:
        figures["relay"] = measure_relay(endpoint, relay_orders)
    else:
        from infra.local.localstack_runner import health, start, stop

        if health(LOCALSTACK_PORT):
            raise SystemExit(f"port {LOCALSTACK_PORT} already answers: pass --endpoint to use it")
        start(LOCALSTACK_PORT, "test", str(ROOT / ".venv-localstack" / "bin" / "python"), 60)
        try:
            figures["relay"] = measure_relay(f"http://127.0.0.1:{LOCALSTACK_PORT}", relay_orders)
        finally:
            stop(LOCALSTACK_PORT)
    return figures


def print_table(figures: dict[str, Any]) -> None:
    placement = figures["placement"]
    print(
        f"\nplacement vs bare insert (row of {placement['row_bytes']} bytes); load generator in "
        f"its own process; median of {placement['rounds']} alternating runs of "
        f"{placement['seconds']:.0f} s, {placement['concurrency']} concurrent clients; "
        f"machine load average {placement['load_average_before']:.1f} at the start"
    )
    print(f"{'database':<12}{'endpoint':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for kind in ("sqlite", "postgresql"):
        if kind not in placement:
            continue
        for name in ("bare", "placement"):
            row = placement[kind][name]
            print(
                f"{kind:<12}{name:<12}{row['rate_per_s']:>10.1f}{row['p50_ms']:>10.1f}"
                f"{row['p99_ms']:>10.1f}{row['errors']:>8}"
            )
        ratio = placement[kind]["ratio"]
        verdict = "ok" if ratio >= TARGET_RATIO else "below target"
        print(f"{kind:<12}{'ratio':<12}{ratio:>9.0%} (target >= {TARGET_RATIO:.0%}: {verdict})")
    relay = figures.get("relay")
    if relay:
        print(
            f"\nrelay: {relay['messages']} messages in {relay['seconds']:.2f} s = "
            f"{relay['messages_per_s']:.0f} messages/s (SNS + payments FIFO + EventBridge)"
        )
        print(
            f"relay latency, order committed -> OrderPlaced in a subscribed queue: "
            f"p50 {relay['commit_to_queue_p50_ms']:.0f} ms, "
            f"max {relay['commit_to_queue_max_ms']:.0f} ms"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("load", help="(internal) the load generator process")
    load.add_argument("url")
    load.add_argument("--seconds", type=float, default=5.0)
    load.add_argument("--warmup", type=float, default=1.0)
    load.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--endpoint", help="LocalStack to publish to (default: start one on 4568)")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per server, alternating")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--relay-orders", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.command == "load":
        print(json.dumps(asyncio.run(_load(args.url, args.seconds, args.warmup, args.concurrency))))
        return
    figures = measure(args.endpoint, args.seconds, args.concurrency, args.relay_orders, args.rounds)
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
