"""The placement bench's load generator, run in its own process (``python -m bench.http_load
URL``): enough concurrent clients (asyncio + httpx) posting the same order, each with a fresh
``Idempotency-Key`` (what a retrying client sends), to keep one server saturated."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from bench.orders_service import APPROVED_CARD
from bench.processes import json_of, python_module

ORDER_LINES = (("MUG-001", 2), ("TEE-002", 1))
ORDER: dict[str, Any] = {
    "customer_email": "ada@example.com",
    "shipping_country": "DE",
    "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in ORDER_LINES],
    "payment_token": APPROVED_CARD,
}


async def saturate(url: str, seconds: float, warmup: float, concurrency: int) -> dict[str, Any]:
    """``POST /api/orders`` from ``concurrency`` clients for ``warmup`` + ``seconds``; rate and
    latencies of the measured ``seconds``."""
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


def run_load(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    """The load generator in its own process, against ``url``; its figures."""
    figures: dict[str, Any] = json_of(
        python_module(
            "bench.http_load",
            url,
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
        )
    )
    if not figures["requests"]:
        raise SystemExit(f"no request to {url} succeeded ({figures['errors']} failed)")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(saturate(args.url, args.seconds, args.warmup, args.concurrency))))


if __name__ == "__main__":
    main()
