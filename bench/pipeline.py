"""The order pipeline against the emulator's own ceiling (issue 8).

- ceilings (``bench.ceilings``), on the LocalStack of the stack and with its mapping settings;
- the stack (``bench.ramp``): end-to-end latency from ``POST /api/orders`` to ``confirmed``
  (the ``OrderConfirmed`` event's ``recorded_at``) one order at a time, then rate steps of at
  least 60 s each, keeping the best rate at which every order reaches its final state and each
  service's own store holds each effect exactly once (``bench.stores``); the message rate the
  pipeline causes at that rate (``bench.message_counts``) as a ratio to the bare SQS -> Lambda
  ceiling; CPU and RSS of every stack process (``bench.procfs``); time from ``up`` to ready
  when this bench started the stack (``bench.stack_target``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bench import orders_service, targets
from bench.ceilings import measure_ceilings
from bench.processes import ROOT
from bench.procfs import ProcessSampler
from bench.ramp import STEP_SECONDS, measure_stack
from bench.stack_target import BENCH_API_PORT, BENCH_PORT, Target, running_stack

RESULTS = ROOT / "build" / "bench-pipeline.json"
DEFAULT_BUDGET_S = 450.0
IDLE_SETTLE_S = 5.0
IDLE_SAMPLE_S = 10.0


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
            p50, targets.LIGHT_P50_S, None if p50 is None else p50 <= targets.LIGHT_P50_S
        ),
        "light_p99_s": target(
            p99, targets.LIGHT_P99_S, None if p99 is None else p99 <= targets.LIGHT_P99_S
        ),
        "ceiling_ratio": target(
            ratio,
            targets.CEILING_RATIO,
            None if ratio is None else ratio >= targets.CEILING_RATIO,
        ),
        "nothing_lost_or_duplicated": target(
            len(lost_or_twice),
            0,
            (not lost_or_twice and sustained is not None) if checked else None,
        ),
        "stack_memory_bytes": target(
            memory or None,
            targets.STACK_MEMORY_BYTES,
            (memory <= targets.STACK_MEMORY_BYTES) if memory else None,
        ),
    }


def measure(
    wanted: Target,
    budget_s: float = DEFAULT_BUDGET_S,
    step_seconds: float = STEP_SECONDS,
    light_orders: int = 20,
    own_port: int = BENCH_PORT,
    own_api_port: int = BENCH_API_PORT,
) -> dict[str, Any]:
    """Every figure of this bench as a dict, on ``wanted`` when it answers, else on a stack
    of its own on ``own_port`` / ``own_api_port``."""
    began = time.monotonic()
    with running_stack(wanted, own_port, own_api_port) as (target, up_s):
        placement_limit = orders_service.placement_limit(target.api_url)
        print(f"idle CPU of the stack for {IDLE_SAMPLE_S:.0f} s ...", flush=True)
        time.sleep(IDLE_SETTLE_S)
        with ProcessSampler(target.processes) as idle:
            time.sleep(IDLE_SAMPLE_S)
        print(f"ceilings on {target.endpoint} ...", flush=True)
        ceilings = measure_ceilings(target.endpoint, target.stack)
        print(f"stack {target.stack!r}: light load, then sustained steps ...", flush=True)
        remaining = budget_s - (time.monotonic() - began)
        stack_figures = measure_stack(target, remaining, step_seconds, light_orders)
    figures: dict[str, Any] = {
        "measured_at": time.time(),
        "target": target.as_json(),
        "up_to_ready_s": up_s,
        "placement_limit": placement_limit,
        "idle": idle.figures(),
        "ceilings": ceilings,
        "stack": stack_figures,
        "bench_seconds": time.monotonic() - began,
    }
    figures["targets"] = evaluate(figures)
    return figures
