"""The pipeline's load generator, run in its own process (``python -m bench.order_load``).

It places orders through the edge (LocalStack's CloudFront with the site's Host header), one
at a time or at a steady rate, and follows each through the orders API to its final state.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx

from bench.orders_service import APPROVED_CARD, access
from bench.processes import json_of, python_module

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
        "payment_token": APPROVED_CARD,
    }


def epoch(timestamp: str | None) -> float | None:
    return None if timestamp is None else datetime.fromisoformat(timestamp).timestamp()


def timeline(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a run keeps of an order's events (``GET /api/orders/{id}/events``): their types,
    when each type was recorded, and when the order was confirmed."""
    confirmed = [event for event in events if event["type"] == "OrderConfirmed"]
    return {
        "event_types": [event["type"] for event in events],
        "event_times": {event["type"]: epoch(event["recorded_at"]) for event in events},
        "confirmed_at": epoch(confirmed[0]["recorded_at"]) if confirmed else None,
    }


async def _place_and_follow(
    client: httpx.AsyncClient, plan: LoadPlan, index: int, deadline: float, poll_s: float
) -> dict[str, Any]:
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
        record["access_token"] = placed.json()["access_token"]
        customer = access(record["access_token"])
        status = placed.json()["status"]
        while status not in FINAL_STATUSES and time.time() < deadline:
            await asyncio.sleep(poll_s)
            reply = await client.get(f"{plan.api_url}/api/orders/{order_id}", headers=customer)
            if reply.status_code == 200:
                status = reply.json()["status"]
        record["status"] = status
        events = (
            await client.get(f"{plan.api_url}/api/orders/{order_id}/events", headers=customer)
        ).json()
    except httpx.HTTPError as error:
        record["error"] = f"{type(error).__name__}: {error}"
        return record
    record.update(timeline(events["events"]))
    return record


async def generate_load(plan: LoadPlan) -> dict[str, Any]:
    """Place the plan's orders and follow each to its final state (or the settle deadline)."""
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
    result: dict[str, Any] = json_of(
        python_module("bench.order_load", json.dumps(asdict(plan))), timeout=budget
    )
    return result


def main(argv: list[str] | None = None) -> None:
    (plan,) = argv if argv is not None else sys.argv[1:]
    print(json.dumps(asyncio.run(generate_load(LoadPlan(**json.loads(plan))))))


if __name__ == "__main__":
    main()
