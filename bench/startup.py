"""Figures of the local cloud itself, on a LocalStack this bench starts and stops:

- start: seconds from launching the host LocalStack to healthy (median of several starts);
- warm invoke: round trip of a warm invoke of an empty handler through the host executor,
  measured at the client, so it bounds the overhead the executor adds from above;
- deploy: the whole stack from nothing onto a fresh LocalStack, then a second deploy (no change).
"""

from __future__ import annotations

import io
import shutil
import statistics
import time
import zipfile
from typing import Any

from bench import targets
from bench.aws import REGION, emulator_client
from bench.processes import ROOT
from infra.cloudformation import deploy
from infra.local.localstack_runner import health, start, stop
from infra.local.stack import LOCALSTACK_PYTHON

PORT = 4568
STARTS = 3
WARM_INVOKES = 50
RESULTS = ROOT / "build" / "bench.json"


def empty_function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def measure_start(port: int) -> list[float]:
    times = []
    for _ in range(STARTS):
        times.append(start(port, "test", LOCALSTACK_PYTHON, timeout=60))
        stop(port)
    return times


def measure_warm_invokes(port: int) -> list[float]:
    client = emulator_client("lambda", f"http://127.0.0.1:{port}")
    client.create_function(
        FunctionName="bench-empty",
        Runtime="python3.11",
        Handler="app.handler",
        Role="arn:aws:iam::000000000000:role/bench",
        Code={"ZipFile": empty_function_zip()},
    )
    client.get_waiter("function_active_v2").wait(FunctionName="bench-empty")
    client.invoke(FunctionName="bench-empty")
    rounds = []
    for _ in range(WARM_INVOKES):
        began = time.perf_counter()
        reply = client.invoke(FunctionName="bench-empty")
        rounds.append(time.perf_counter() - began)
        if "FunctionError" in reply:
            raise SystemExit(f"bench function failed: {reply['Payload'].read()!r}")
    return rounds


def measure_deploys(port: int) -> tuple[float, float]:
    """Seconds of a deploy from nothing and of a second deploy that changes nothing."""
    target = deploy.Target("bench-deploy", REGION, f"http://127.0.0.1:{port}")
    try:
        first = deploy.deploy(target, "test")
        second = deploy.deploy(target, "test")
    finally:
        shutil.rmtree(deploy.local_data_dir(target.stack_name), ignore_errors=True)
    if second.stack_change != "unchanged":
        raise SystemExit(f"a second deploy should change nothing, it {second.stack_change}")
    return first.seconds, second.seconds


def measure(port: int = PORT) -> dict[str, Any]:
    """Every figure of this bench; ``port`` must be free (a LocalStack is started on it)."""
    if health(port):
        raise SystemExit(f"port {port} already answers: stop that LocalStack to measure a start")
    starts = measure_start(port)
    start(port, "test", LOCALSTACK_PYTHON, timeout=60)
    try:
        invokes = measure_warm_invokes(port)
        deploy_from_nothing, second_deploy = measure_deploys(port)
    finally:
        stop(port)
    return {
        "measured_at": time.time(),
        "localstack_start_to_healthy_s": {
            "median": statistics.median(starts),
            "target": targets.LOCALSTACK_START_S,
        },
        "warm_invoke_round_trip_ms": {
            "median": statistics.median(invokes) * 1000,
            "p95": statistics.quantiles(invokes, n=20)[-1] * 1000,
            "target": targets.WARM_INVOKE_MS,
        },
        "deploy_from_nothing_s": {"median": deploy_from_nothing, "target": targets.DEPLOY_S},
        "second_deploy_unchanged_s": {"median": second_deploy, "target": targets.DEPLOY_S},
    }
