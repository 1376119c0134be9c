"""The stack under load: a light run (one order at a time), then rate steps that ramp up until
the best rate at which every order reaches its final state with each effect exactly once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.aws import emulator_client, wait_for
from bench.message_counts import LambdaLogs, lambda_invocations, sqs_deliveries
from bench.order_load import LoadPlan, run_load
from bench.outcomes import (
    backlog_grew,
    e2e_latencies,
    order_problems,
    refresh_orders,
    stage_latencies,
)
from bench.procfs import ProcessSampler
from bench.report import verdict
from bench.stack_target import Target
from bench.stats import latency_summary
from bench.stores import Stores, redacted
from infra.cloudformation.topology.messaging import ALARMS_QUEUE_NAME

STEP_SECONDS = 60.0
START_RATE = 3.0
RATE_FACTOR = 1.5
SETTLE_S = 15.0
CHECK_TIMEOUT_S = 20.0


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


def seed_sku() -> str:
    """The catalogue's most stocked product (inventory seeds its stock at its cold start)."""
    from shared.catalogue import load_catalogue

    return max(load_catalogue(), key=lambda product: product.initial_stock).sku


def _messages(
    target: Target, load: Mapping[str, Any], handlers: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Lambda invocations and SQS deliveries since the load began."""
    invocations = lambda_invocations(
        target.endpoint, target.stack, load["began_at"] - 0.5, time.time()
    )
    orders = refresh_orders(target.api_url, load["orders"])
    return invocations, sqs_deliveries(target.endpoint, target.stack, handlers, orders)


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
    invocations, deliveries = _messages(target, light, handlers.figures())
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
    with ProcessSampler(target.processes) as sampler:
        load = run_load(_plan(target, run_id, first, sku, rate=rate, seconds=seconds))
    orders = load["orders"]
    problems = order_problems(orders)
    placed = load["placed_per_s"] or 0.0
    if placed < 0.95 * rate:
        problems.append(f"the load generator placed only {placed:.2f} orders/s")
    if backlog_grew(orders):
        problems.append("latency grew during the step (a backlog built up)")
    problems += stores.settled_problems(orders, sku, stock_before, CHECK_TIMEOUT_S)
    handlers = durations.figures()
    invocations, deliveries = _messages(target, load, handlers)
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
            step = measure_step(target, stores, run_id, first, rate, step_seconds)
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
        "databases": {service: redacted(url) for service, url in stores.urls.items()},
    }


def recheck_after_drain(target: Target, stores: Stores, step: Mapping[str, Any]) -> list[str]:
    """Once the queues are empty, what of a failed step is really lost or done twice (at the
    end of the step much of it was only late)."""
    drain(target)
    recheck = step["recheck"]
    orders = refresh_orders(target.api_url, recheck["orders"])
    return order_problems(orders) + stores.settled_problems(
        orders, recheck["sku"], recheck["stock_before"], CHECK_TIMEOUT_S
    )


def drain(target: Target, timeout: float = 60.0) -> None:
    """Wait until the stack's queues are empty after a step it could not keep up with (all but
    the alarms queue, which keeps its notifications for their readers)."""
    sqs = emulator_client("sqs", target.endpoint)
    urls = [
        url
        for url in sqs.list_queues(QueueNamePrefix=f"{target.stack}-").get("QueueUrls", [])
        if url.rsplit("/", 1)[-1] != f"{target.stack}-{ALARMS_QUEUE_NAME}"
    ]

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
