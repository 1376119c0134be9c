"""The whole stack on the host: LocalStack, the deployed topology and the orders service.

``run`` brings everything up and stays in the foreground until Ctrl-C; ``up`` does the same in
the background and returns once everything answers; ``down`` stops what ``up`` started;
``status`` says what runs and where. Every step prints its duration, and a failing step says
what failed and where its log is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from infra.cloudformation.names import site_domain_name
from infra.cloudformation.profiles import ORDERS_SERVICE_PROFILES
from infra.local import localstack_runner

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "test"
"""The profile of the stack and of the orders service beside it (tests and demos)."""
PYTHON = str(ROOT / ".venv" / "bin" / "python")
LOCALSTACK_PYTHON = str(ROOT / ".venv-localstack" / "bin" / "python")

T = TypeVar("T")


class StepFailed(RuntimeError):
    """A start-up step failed; the message says what and where its log is."""


@dataclass(frozen=True)
class Layout:
    """Where one stack keeps its state, logs and pid files."""

    stack: str
    port: int
    api_port: int

    @property
    def data_dir(self) -> Path:
        return ROOT / ".data" / self.stack

    @property
    def orders_log(self) -> Path:
        return self.data_dir / "orders.log"

    @property
    def orders_pid(self) -> Path:
        return self.data_dir / "orders.pid"

    @property
    def deploy_log(self) -> Path:
        return self.data_dir / "deploy.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def site_host(self) -> str:
        return site_domain_name(self.stack)

    @property
    def site_url(self) -> str:
        return f"http://{self.site_host}:{self.port}/"


def step(name: str, action: Callable[[], T]) -> T:
    """Run one start-up step, printing its progress and duration."""
    print(f"  {name} ...", end="", flush=True)
    began = time.monotonic()
    try:
        result = action()
    except (StepFailed, SystemExit) as error:
        print(f" FAILED after {time.monotonic() - began:.1f} s")
        raise StepFailed(f"{name}: {error}") from error
    print(f" done in {time.monotonic() - began:.1f} s")
    return result


DEMO_OPERATOR = "demo"


def aws_environment(layout: Layout) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": layout.endpoint,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
    }


def start_localstack(layout: Layout) -> None:
    with _quiet():
        localstack_runner.start(layout.port, "test", LOCALSTACK_PYTHON, timeout=60)


def deploy(layout: Layout, parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """Package and deploy the stack (``parameters``: template values that win over the profile's,
    such as each Lambda's database URL); return the orders service's environment from its
    outputs."""
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    env = aws_environment(layout)
    deploy_args = [
        "--stack",
        layout.stack,
        "--profile",
        PROFILE,
        "--orders-api-port",
        str(layout.api_port),
        *(f"--parameter={name}={value}" for name, value in (parameters or {}).items()),
    ]
    with layout.deploy_log.open("w") as log:
        done = subprocess.run(
            [PYTHON, "-m", "infra.cloudformation.deploy", "deploy", *deploy_args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    if done.returncode:
        raise StepFailed(f"deploy exited with {done.returncode}; see {layout.deploy_log}")
    outputs = subprocess.run(
        [
            PYTHON,
            "-m",
            "infra.cloudformation.deploy",
            "outputs",
            "--stack",
            layout.stack,
            "--format",
            "env",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if outputs.returncode:
        raise StepFailed(f"reading the stack outputs failed: {outputs.stderr.strip()}")
    return dict(line.split("=", 1) for line in outputs.stdout.splitlines() if "=" in line)


def orders_environment(layout: Layout, outputs: dict[str, str]) -> dict[str, str]:
    return {
        **ORDERS_SERVICE_PROFILES[PROFILE],
        **aws_environment(layout),
        **outputs,
        "ORDERS_DATABASE_URL": f"sqlite:///{layout.data_dir / 'orders.db'}",
        "ORDERS_STACK_NAME": layout.stack,
    }


def add_operator(env: dict[str, str], name: str, *, replace: bool = False) -> str:
    """A new credential for operator ``name`` (``OPERATORS_PATH`` of ``env``), through the
    orders service's CLI as an operator would add one; its digest goes to Parameter Store."""
    added = subprocess.run(
        [PYTHON, "-m", "services.orders", "operators", "add", name]
        + (["--replace"] if replace else []),
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if added.returncode:
        raise StepFailed(f"adding operator {name!r} failed: {added.stderr.strip()}")
    return added.stdout.strip()


def remove_operator(env: dict[str, str], name: str) -> None:
    subprocess.run(
        [PYTHON, "-m", "services.orders", "operators", "remove", name],
        env=env,
        capture_output=True,
        cwd=ROOT,
        check=False,
    )


def start_orders(layout: Layout, env: dict[str, str]) -> None:
    """Migrate, then start API, relay, worker and projector in one process group."""
    migrated = subprocess.run(
        [PYTHON, "-m", "services.orders", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if migrated.returncode:
        raise StepFailed(f"migrating the orders database failed: {migrated.stderr.strip()}")
    with layout.orders_log.open("ab") as log:
        process = subprocess.Popen(
            [PYTHON, "-m", "services.orders", "run", "--port", str(layout.api_port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
        )
    layout.orders_pid.write_text(str(process.pid))
    health = f"http://127.0.0.1:{layout.api_port}/api/health"
    wait_until(
        lambda: process.poll() is None and http_status(health) == 200,
        timeout=30,
        failure=f"the orders service did not answer {health}; see {layout.orders_log}",
        gave_up=lambda: process.poll() is not None,
    )


def check_site(layout: Layout) -> None:
    """The site and the catalogue answer through Route 53 and CloudFront (seeding stock)."""
    for path in ("/", "/api/catalogue", "/api/docs"):
        url = f"{layout.endpoint}{path}"
        wait_until(
            lambda url=url: http_status(url, host=layout.site_host) == 200,  # type: ignore[misc]
            timeout=60,
            failure=f"{layout.site_url.rstrip('/')}{path} does not answer 200",
        )


def http_status(url: str, host: str | None = None) -> int | None:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # nosec B310  # our http URLs
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    failure: str,
    gave_up: Callable[[], bool] = lambda: False,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if gave_up():
            break
        time.sleep(0.2)
    raise StepFailed(failure)


def up(layout: Layout) -> None:
    print(f"Starting the shop (stack {layout.stack!r}, LocalStack port {layout.port}):")
    began = time.monotonic()
    step(f"LocalStack on 127.0.0.1:{layout.port}", lambda: start_localstack(layout))
    outputs = step("package and deploy the stack", lambda: deploy(layout))
    env = orders_environment(layout, outputs)
    credential = step(
        f"operator {DEMO_OPERATOR!r} with a new credential",
        lambda: add_operator(env, DEMO_OPERATOR, replace=True),
    )
    step(f"orders service on 127.0.0.1:{layout.api_port}", lambda: start_orders(layout, env))
    step("site, API and catalogue through the edge", lambda: check_site(layout))
    print(f"ready in {time.monotonic() - began:.1f} s")
    print(f"  site            {layout.site_url}")
    print(f"  API docs        {layout.site_url}api/docs")
    print(f"  LocalStack      {layout.endpoint}  (SES mailbox: {layout.endpoint}/_aws/ses)")
    print(f"  operator        {DEMO_OPERATOR}, credential {credential}")
    print(f"  logs            {layout.data_dir}/ and {localstack_runner.STATE_DIR}/")


def stop_orders(layout: Layout) -> None:
    localstack_runner.stop_process_group(layout.orders_pid, timeout=10)


def destroy(layout: Layout) -> None:
    """Delete the stack and the data of its services (used by test stacks)."""
    subprocess.run(
        [PYTHON, "-m", "infra.cloudformation.deploy", "destroy", "--stack", layout.stack],
        env=aws_environment(layout),
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    shutil.rmtree(layout.data_dir, ignore_errors=True)


def down(layout: Layout) -> None:
    stop_orders(layout)
    with _quiet():
        localstack_runner.stop(layout.port)
    print("the shop is stopped")


def status(layout: Layout) -> bool:
    localstack_up = localstack_runner.health(layout.port) is not None
    api = f"http://127.0.0.1:{layout.api_port}/api/health"
    orders_up = http_status(api) == 200
    site_up = localstack_up and http_status(layout.endpoint, host=layout.site_host) == 200
    rows = [
        ("LocalStack", localstack_up, layout.endpoint),
        ("orders service", orders_up, f"http://127.0.0.1:{layout.api_port}/api/docs"),
        ("site", site_up, layout.site_url),
    ]
    for name, running, where in rows:
        print(f"  {name:<15} {'running' if running else 'not running':<12} {where}")
    return all(running for _, running, _ in rows)


def run_in_foreground(layout: Layout) -> None:
    # Ctrl-C stops everything even when started from a shell that ignores SIGINT (background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        up(layout)
        print("press Ctrl-C to stop")
        while localstack_runner.health(layout.port) is not None and _orders_alive(layout):
            time.sleep(1)
        print("a part of the stack stopped; see the logs above")
    except KeyboardInterrupt:
        print()
    finally:
        down(layout)


def _orders_alive(layout: Layout) -> bool:
    try:
        os.killpg(int(layout.orders_pid.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep the runner's own lines out of the step display (they go to its log anyway)."""
    saved = sys.stdout
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            yield
        finally:
            sys.stdout = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["run", "up", "down", "status"])
    parser.add_argument("--stack", default=os.environ.get("STACK_NAME", "shop"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT", 4566)))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", 8000)))
    args = parser.parse_args(argv)
    layout = Layout(args.stack, args.port, args.api_port)
    try:
        if args.action == "run":
            run_in_foreground(layout)
        elif args.action == "up":
            try:
                up(layout)
            except StepFailed:
                down(layout)
                raise
        elif args.action == "down":
            down(layout)
        else:
            return 0 if status(layout) else 1
    except StepFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
