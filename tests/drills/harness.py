"""A shop of the drills' own: LocalStack on its own port, databases named per run, the orders
service as separate processes (API with projector, relay, worker) so one can be killed, and a
steady stream of orders through the edge.

``DRILL_LOCALSTACK_PORT`` (default 4568) is the LocalStack the drills start and stop themselves:
they freeze it, so it is never the suite's. With ``TEST_DATABASE_URL`` every service gets a
throwaway PostgreSQL database on that server (``drill_<run>_<service>``), else a SQLite file in
a temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from bench.procfs import stack_processes
from infra.cloudformation.profiles import ORDERS_SERVICE_PROFILES
from infra.cloudformation.topology.blocks import pascal
from infra.local import localstack_runner
from infra.local import stack as shop_stack
from shared.tests.databases import throwaway_database
from shared.tests.polling import eventually

SERVICES = ("orders", "inventory", "payments", "email", "analytics", "fraud")
LAMBDA_SERVICES = SERVICES[1:]
DRILL_PORT = int(os.environ.get("DRILL_LOCALSTACK_PORT", "4568"))
ORDERS_PROCESSES = ("serve", "relay", "worker")
RETRIES = {"FraudFunctionRetryAttempts": "2"}
"""The production default over the test profile's 0: a duplicate OrderPlaced that reaches the
fraud Lambda while the first is in progress fails (the idempotency record is in progress) and
succeeds on a retry; without one it is dead-lettered (found by the duplicates drill)."""


def outage_seconds() -> float:
    """How long each drill's fault lasts (``DRILL_OUTAGE_SECONDS``: 60 under ``make drill``)."""
    return float(os.environ.get("DRILL_OUTAGE_SECONDS", "10"))


@contextmanager
def drill_databases(run: str, scratch: Path) -> Iterator[dict[str, str]]:
    """A database per service, named for this run; dropped afterwards (PostgreSQL)."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield {service: f"sqlite:///{scratch / f'{service}.db'}" for service in SERVICES}
        return
    with ExitStack() as databases:
        yield {
            service: databases.enter_context(throwaway_database(server, f"drill_{run}_{service}"))
            for service in SERVICES
        }


@dataclass
class DrillStack:
    """The running shop of the drills and handles on its parts."""

    layout: shop_stack.Layout
    outputs: dict[str, str]
    environment: dict[str, str]
    databases: dict[str, str]
    scratch: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def stack(self) -> str:
        return self.layout.stack

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.api_port}"

    def aws(self, service: str, config: Config | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.layout.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=config,
        )

    def log_of(self, process: str) -> Path:
        return self.layout.data_dir / f"orders-{process}.log"

    def start(self, process: str) -> None:
        """Start ``python -m services.orders <process>`` in a process group of its own."""
        arguments = ["--port", str(self.layout.api_port)] if process == "serve" else []
        with self.log_of(process).open("ab") as log:
            self.processes[process] = subprocess.Popen(
                [shop_stack.PYTHON, "-m", "services.orders", process, *arguments],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=shop_stack.ROOT,
                start_new_session=True,
            )

    def kill(self, process: str) -> None:
        """SIGKILL ``process`` (its whole group) and reap it."""
        running = self.processes.pop(process)
        os.killpg(running.pid, signal.SIGKILL)
        running.wait(timeout=10)

    def stop_all(self) -> None:
        for process in list(self.processes):
            running = self.processes.pop(process)
            try:
                os.killpg(running.pid, signal.SIGTERM)
                running.wait(timeout=35)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(running.pid, signal.SIGKILL)
                running.wait(timeout=10)

    def localstack_pid(self) -> int:
        return int((self.scratch / "localstack.pid").read_text())

    def lambda_environments(self, service: str) -> list[int]:
        """The host processes running ``service``'s Lambda (its execution environments)."""
        wanted = f"lambda {self.stack}-{service}"
        labels = stack_processes(self.layout.port, self.layout.orders_pid)
        return [pid for pid, label in labels.items() if label == wanted]


@contextmanager
def drill_stack(scratch: Path) -> Iterator[DrillStack]:
    """LocalStack on ``DRILL_PORT``, the stack deployed on the run's databases, the orders
    processes started, the catalogue answering through the edge; all stopped afterwards."""
    run = uuid.uuid4().hex[:8]
    layout = shop_stack.Layout(f"drill-{run}", DRILL_PORT, _free_port())
    with ExitStack() as cleanup:
        localstack_runner.start(DRILL_PORT, "test", shop_stack.LOCALSTACK_PYTHON, timeout=60)
        cleanup.callback(localstack_runner.stop, DRILL_PORT)
        # the drills' own record of LocalStack's process group: the runner's pid file is shared
        # with whatever else runs `localstack_runner` in the checkout
        localstack_pid = scratch / "localstack.pid"
        localstack_pid.write_text(localstack_runner._paths(DRILL_PORT)[0].read_text())
        cleanup.callback(localstack_runner.stop_process_group, localstack_pid, 15)
        databases = cleanup.enter_context(drill_databases(run, scratch))
        parameters = RETRIES | {
            f"{pascal(service)}DatabaseUrl": databases[service] for service in LAMBDA_SERVICES
        }
        # LocalStack keeps no state once stopped: the stack needs no deletion, only its files
        cleanup.callback(shutil.rmtree, layout.data_dir, ignore_errors=True)
        began = time.monotonic()
        settings = shop_stack.deploy(layout, parameters)
        print(f"drill stack {layout.stack} deployed in {time.monotonic() - began:.1f} s")
        environment = {
            **shop_stack.orders_environment(layout, settings),
            **ORDERS_SERVICE_PROFILES["drill"],
            "ORDERS_DATABASE_URL": databases["orders"],
        }
        migrated = subprocess.run(
            [shop_stack.PYTHON, "-m", "services.orders", "migrate"],
            env=environment,
            capture_output=True,
            text=True,
            cwd=shop_stack.ROOT,
        )
        assert migrated.returncode == 0, migrated.stderr
        stack = DrillStack(layout, {}, environment, databases, scratch)
        stack.outputs = {
            output["OutputKey"]: output["OutputValue"]
            for output in stack.aws("cloudformation").describe_stacks(StackName=layout.stack)[
                "Stacks"
            ][0]["Outputs"]
        }
        cleanup.callback(stack.stop_all)
        for process in ORDERS_PROCESSES:
            stack.start(process)
        eventually(
            lambda: shop_stack.http_status(f"{stack.api_url}/api/health") == 200,
            "the orders API answering",
            seconds=30,
            interval=0.2,
        )
        shop_stack.check_site(layout)
        print(f"drill stack {layout.stack} answering after {time.monotonic() - began:.1f} s")
        yield stack


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """The process group of ``pid`` stopped (SIGSTOP) for the block, continued whatever happens."""
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class OrderStream:
    """Places orders at ``rate`` per second from a thread until stopped; a placement that gets no
    answer is retried with its idempotency key, so an order is either accepted or known lost.

    ``via_origin`` sends them straight to the orders API instead of through the edge (while the
    emulator, which serves the edge, is frozen)."""

    stack: DrillStack
    label: str
    rate: float = 4.0
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Why each refused placement was refused (its last answer)."""
    via_origin: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> OrderStream:
        ticker = threading.Thread(target=self._tick, name=f"orders-{self.label}", daemon=True)
        self._threads.append(ticker)
        ticker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=60)

    def _tick(self) -> None:
        number = 0
        while not self._stop.wait(1 / self.rate):
            number += 1
            placing = threading.Thread(target=self._place, args=(number,), daemon=True)
            with self._lock:
                self._threads.append(placing)
            placing.start()

    def _place(self, number: int) -> None:
        key = str(uuid.uuid4())
        sender = re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")
        body = {
            "customer_email": f"{sender}-{number}-{key[:6]}@drill.example.com",
            # every third order is screened by the fraud Lambda (a country outside the allowed)
            "shipping_country": "US" if number % 3 == 1 else "DE",
            "currency": "EUR",
            "lines": [{"sku": "MUG-001", "quantity": 1}],
            # every fifth payment is declined: the order is cancelled and its stock released
            "payment_token": "tok_insufficient_funds" if number % 5 == 4 else "tok_approve",
        }
        deadline = time.monotonic() + 120
        answer = "no answer"
        while time.monotonic() < deadline:
            edge = not self.via_origin.is_set()
            base_url = self.stack.layout.endpoint if edge else self.stack.api_url
            headers = {"Idempotency-Key": key}
            if edge:
                headers["Host"] = self.stack.layout.site_host
            try:
                response = httpx.post(
                    f"{base_url}/api/orders", json=body, headers=headers, timeout=5
                )
            except httpx.TransportError as error:
                answer = f"{type(error).__name__}: {error}"
                continue
            if response.status_code == 201:
                with self._lock:
                    self.accepted.append(response.json()["order_id"])
                return
            answer = f"{response.status_code} {response.text[:200]}"
            if response.status_code < 500:
                break
            time.sleep(0.5)  # the edge or the API answered 5xx: the client backs off
        with self._lock:
            self.refused.append(answer)
