"""The stack the pipeline bench runs against: one that answers, or one of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.procfs import stack_processes
from infra.local import localstack_runner, stack
from infra.local.stack import Layout

BENCH_STACK = "bench"
BENCH_PORT = 4671
BENCH_API_PORT = 8071


@dataclass(frozen=True)
class Target:
    """A stack's layout (``infra.local.stack``) and the Host header its site answers to."""

    layout: Layout
    site_host: str

    @classmethod
    def of(cls, stack: str, port: int, api_port: int, site_host: str | None = None) -> Target:
        layout = Layout(stack, port, api_port)
        return cls(layout, site_host or layout.site_host)

    @property
    def stack(self) -> str:
        return self.layout.stack

    @property
    def port(self) -> int:
        return self.layout.port

    @property
    def endpoint(self) -> str:
        return self.layout.endpoint

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.api_port}"

    def processes(self) -> dict[int, str]:
        """The stack's processes, labelled (LocalStack, each Lambda, the orders service)."""
        return stack_processes(self.port, self.layout.orders_pid)

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "port": self.port,
            "api_port": self.layout.api_port,
            "site_host": self.site_host,
        }


def answers(target: Target) -> bool:
    return (
        localstack_runner.health(target.port) is not None
        and stack.http_status(f"{target.api_url}/api/health") == 200
    )


@contextmanager
def running_stack(
    target: Target, own_port: int = BENCH_PORT, own_api_port: int = BENCH_API_PORT
) -> Iterator[tuple[Target, float | None]]:
    """The stack at ``target`` when it answers; else a ``bench`` stack on ``own_port`` (API on
    ``own_api_port``), brought up (timed) with ``infra.local.stack`` and destroyed afterwards."""
    if answers(target):
        yield target, None
        return
    own = Target.of(BENCH_STACK, own_port, own_api_port)
    print(
        f"nothing answers on {target.endpoint} / {target.api_url}: starting stack "
        f"{own.stack!r} on {own.endpoint} (API {own.api_url})"
    )
    began = time.monotonic()
    try:
        stack.up(own.layout)
        yield own, time.monotonic() - began
    finally:
        stack.stop_orders(own.layout)
        if localstack_runner.health(own.port) is not None:
            stack.destroy(own.layout)
        stack.down(own.layout)
