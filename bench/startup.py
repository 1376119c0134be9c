"""`make bench`: figures of the local cloud, printed as a table and written as JSON.

- start: seconds from launching the host LocalStack to healthy (median of several starts);
- warm invoke: round trip of a warm invoke of an empty handler through the host executor,
  measured at the client, so it bounds the overhead the executor adds from above;
- deploy: the whole stack from nothing onto a fresh LocalStack, then a second deploy (no change).

`make bench` then runs `bench.placement` (order placement against a bare insert) and
`bench.pipeline` (end-to-end latency, sustained rate, the emulator's ceilings).
"""

from __future__ import annotations

import io
import json
import shutil
import statistics
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3

from infra.cloudformation import deploy
from infra.local.localstack_runner import ROOT, health, start, stop

PORT = 4568
STARTS = 3
WARM_INVOKES = 50
RESULTS = ROOT / "build" / "bench.json"
LS_PYTHON = str(ROOT / ".venv-localstack" / "bin" / "python")


def empty_function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def measure_start() -> list[float]:
    times = []
    for _ in range(STARTS):
        times.append(start(PORT, "test", LS_PYTHON, timeout=60))
        stop(PORT)
    return times


def measure_warm_invokes() -> list[float]:
    client: Any = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{PORT}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
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


def measure_deploys() -> tuple[float, float]:
    """Seconds of a deploy from nothing and of a second deploy that changes nothing."""
    target = deploy.Target("bench-deploy", "us-east-1", f"http://127.0.0.1:{PORT}")
    try:
        first = deploy.deploy(target, "test")
        second = deploy.deploy(target, "test")
    finally:
        shutil.rmtree(deploy.local_data_dir(target.stack_name), ignore_errors=True)
    if second.stack_change != "unchanged":
        raise SystemExit(f"a second deploy should change nothing, it {second.stack_change}")
    return first.seconds, second.seconds


def main() -> None:
    if health(PORT):
        raise SystemExit(f"port {PORT} already answers: stop that LocalStack to measure a start")
    starts = measure_start()
    start(PORT, "test", LS_PYTHON, timeout=60)
    try:
        invokes = measure_warm_invokes()
        deploy_from_nothing, second_deploy = measure_deploys()
    finally:
        stop(PORT)
    figures = {
        "localstack_start_to_healthy_s": {"median": statistics.median(starts), "target": 5.0},
        "warm_invoke_round_trip_ms": {
            "median": statistics.median(invokes) * 1000,
            "p95": statistics.quantiles(invokes, n=20)[-1] * 1000,
            "target": 20.0,
        },
        "deploy_from_nothing_s": {"median": deploy_from_nothing, "target": 30.0},
        "second_deploy_unchanged_s": {"median": second_deploy, "target": 30.0},
    }
    print(f"\n{'figure':<34}{'median':>10}{'p95':>10}{'target':>10}")
    for name, values in figures.items():
        p95 = f"{values['p95']:.1f}" if "p95" in values else "-"
        print(f"{name:<34}{values['median']:>10.2f}{p95:>10}{values['target']:>10.1f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"measured_at": time.time(), **figures}, indent=2))
    print(f"\nwritten to {Path(RESULTS).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
