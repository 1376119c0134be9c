"""What a run did to the orders, as the orders API tells it: latencies, final states and
streams without a repeated event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from bench.order_load import FINAL_STATUSES, timeline
from bench.orders_service import access
from bench.stats import latency_summary, percentile


def e2e_latencies(orders: Sequence[Mapping[str, Any]]) -> list[float]:
    """Seconds from sending the POST to the OrderConfirmed event, per confirmed order."""
    return [
        order["confirmed_at"] - order["posted_at"]
        for order in orders
        if order.get("confirmed_at") is not None
    ]


def stage_latencies(orders: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per event type, seconds from sending the POST to the event being recorded: where the
    time of an order goes (replies of inventory, payments and fraud; confirmation; capture)."""
    stages: dict[str, list[float]] = {}
    for order in orders:
        for event_type, recorded in order.get("event_times", {}).items():
            if recorded is not None:
                stages.setdefault(event_type, []).append(recorded - order["posted_at"])
    return {
        event_type: latency_summary(values)
        for event_type, values in sorted(stages.items(), key=lambda item: percentile(item[1], 50))
    }


def order_problems(orders: Sequence[Mapping[str, Any]]) -> list[str]:
    """Failed placements, orders not final, not confirmed, or with an event recorded twice."""
    problems = []
    failed = [order for order in orders if "error" in order]
    if failed:
        problems.append(f"{len(failed)} placement(s) failed, first: {failed[0]['error']}")
    followed = [order for order in orders if "error" not in order]
    open_orders = [order for order in followed if order.get("status") not in FINAL_STATUSES]
    if open_orders:
        problems.append(f"{len(open_orders)} order(s) not final in time")
    other = [order for order in followed if order.get("status") in FINAL_STATUSES - {"confirmed"}]
    if other:
        problems.append(
            f"{len(other)} order(s) {', '.join(sorted({o['status'] for o in other}))}"
            " instead of confirmed"
        )
    twice = [
        order["order_id"]
        for order in followed
        if len(order.get("event_types", [])) != len(set(order.get("event_types", [])))
    ]
    if twice:
        problems.append(f"{len(twice)} order stream(s) with an event type twice")
    return problems


def backlog_grew(orders: Sequence[Mapping[str, Any]], slack_s: float = 2.0) -> bool:
    """Whether the last third of the orders took much longer than the first third."""
    ordered = sorted(
        (order for order in orders if order.get("confirmed_at") is not None),
        key=lambda order: order["posted_at"],
    )
    third = len(ordered) // 3
    if third < 3:
        return False
    first = e2e_latencies(ordered[:third])
    last = e2e_latencies(ordered[-third:])
    return percentile(last, 50) > percentile(first, 50) + slack_s


def refresh_orders(api_url: str, orders: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The orders as they stand now (status, events), read from the orders API with each one's
    access token."""
    refreshed = []
    with httpx.Client(base_url=api_url, timeout=30) as client:
        for order in orders:
            current = dict(order)
            if "order_id" in order:
                url = f"/api/orders/{order['order_id']}"
                customer = access(order["access_token"])
                current["status"] = client.get(url, headers=customer).json()["status"]
                events = client.get(f"{url}/events", headers=customer).json()["events"]
                current.update(timeline(events))
            refreshed.append(current)
    return refreshed
