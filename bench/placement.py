"""Order placement against a bare insert.

``POST /api/orders`` with a fresh ``Idempotency-Key`` (what a retrying client sends) to the
real orders API (``python -m services.orders serve``) next to a bare FastAPI endpoint
(``bench.bare_insert``) that inserts one row of the same size as the placement's OrderPlaced
event and commits, on SQLite and (when 127.0.0.1:5432 answers) on a throwaway PostgreSQL
database. Each server is its own process; the load generator (``bench.http_load``) is another.
The ratio placement/bare has a target (``bench.targets``).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench import orders_service, targets
from bench.databases import database
from bench.http_load import ORDER, run_load
from bench.orders_service import access
from bench.processes import free_port, python_module, serving

UNREACHABLE = "http://127.0.0.1:1"
"""Where the placement servers' orders service would publish: nowhere (no relay runs)."""


def placement_environment(database_url: str) -> dict[str, str]:
    return orders_service.environment(
        database_url,
        topic_arn="arn:aws:sns:us-east-1:000000000000:bench",
        payments_queue_url=f"{UNREACHABLE}/000000000000/bench.fifo",
        event_bus_name="bench",
        updates_queue_url=f"{UNREACHABLE}/000000000000/bench-updates",
        aws_endpoint_url=UNREACHABLE,
    )


def event_bytes(event: dict[str, Any]) -> int:
    """Size of an event as the orders service stores it (payload and metadata as JSON), from
    its entry in ``GET /api/orders/{id}/events``."""
    metadata = {
        "correlation_id": event["correlation_id"],
        "causation_id": event["causation_id"],
        "occurred_at": datetime.fromisoformat(event["occurred_at"]).isoformat(),
    }
    return len(json.dumps(event["payload"])) + len(json.dumps(metadata))


def order_placed_bytes(scratch: Path) -> int:
    """Size of the OrderPlaced event one benchmark order records (placed on a scratch API)."""
    with orders_service.api(placement_environment(f"sqlite:///{scratch / 'size.db'}")) as url:
        placed = httpx.post(f"{url}/api/orders", json=ORDER, timeout=30)
        placed.raise_for_status()
        events = httpx.get(
            f"{url}/api/orders/{placed.json()['order_id']}/events",
            headers=access(placed.json()["access_token"]),
            timeout=30,
        )
    (event,) = [e for e in events.json()["events"] if e["type"] == "OrderPlaced"]
    return event_bytes(event)


def _bare_command(port: int) -> list[str]:
    return python_module(
        "uvicorn",
        "--factory",
        "bench.bare_insert:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    )


def measure_placement(
    kinds: list[str], seconds: float = 3.0, concurrency: int = 32, rounds: int = 5
) -> dict[str, Any]:
    """Both servers run side by side and are loaded in turn, ``rounds`` times each (the
    machine's background load hits both alike); each figure is the median over the rounds."""
    with tempfile.TemporaryDirectory() as scratch_dir, ExitStack() as running:
        scratch = Path(scratch_dir)
        row_bytes = order_placed_bytes(scratch)
        figures: dict[str, Any] = {
            "row_bytes": row_bytes,
            "rounds": rounds,
            "seconds": seconds,
            "concurrency": concurrency,
            "load_average_before": os.getloadavg()[0],
        }
        for kind in kinds:
            bare_url = running.enter_context(database(kind, scratch, "bare"))
            placement_url = running.enter_context(database(kind, scratch, "placement"))
            bare_port = free_port()
            bare_env = {"BENCH_DATABASE_URL": bare_url, "BENCH_ROW_BYTES": str(row_bytes)}
            servers = {
                "bare": running.enter_context(
                    serving("bare_app", _bare_command(bare_port), bare_env, bare_port)
                ),
                "placement": running.enter_context(
                    orders_service.api(placement_environment(placement_url))
                ),
            }
            figures["placement_limit"] = orders_service.placement_limit(servers["placement"])
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
            for _ in range(rounds):
                for name, server in servers.items():
                    runs[name].append(run_load(server, seconds, concurrency))
            results: dict[str, Any] = {
                name: {
                    figure: statistics.median(run[figure] for run in measured)
                    for figure in ("rate_per_s", "p50_ms", "p99_ms")
                }
                | {"errors": sum(run["errors"] for run in measured)}
                for name, measured in runs.items()
            }
            results["ratio"] = results["placement"]["rate_per_s"] / results["bare"]["rate_per_s"]
            results["target_ratio"] = targets.PLACEMENT_TO_BARE_INSERT
            figures[kind] = results
    return figures
