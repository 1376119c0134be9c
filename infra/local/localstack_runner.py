"""Start, stop and query LocalStack community on the host (no Docker).

LocalStack lives in its own virtual environment (`.venv-localstack`); this module only
launches it as a process, waits until it is healthy and stops it, logging to a file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra.cloudformation.template import AWS_ONLY_RESOURCE_TYPES

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / ".localstack"

TEST_PROFILE = {
    "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": "0.05",
    "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": "0.2",
    "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_ERROR_SEC": "1",
    "LAMBDA_RETRY_BASE_DELAY": "1",
    "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL": "5",
}


def _paths(port: int) -> tuple[Path, Path]:
    return STATE_DIR / f"localstack-{port}.pid", STATE_DIR / f"localstack-{port}.log"


def health(port: int) -> dict[str, object] | None:
    try:
        url = f"http://127.0.0.1:{port}/_localstack/health"
        with urllib.request.urlopen(url, timeout=1) as r:  # nosec B310  # http://, built here
            return dict(json.load(r))
    except (OSError, urllib.error.URLError, ValueError):
        return None


def environment(port: int, profile: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "LOCALSTACK_HOST": f"127.0.0.1:{port}",
        "CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES": "0",
        "CFN_IGNORE_UNSUPPORTED_TYPE_CREATE": ",".join(AWS_ONLY_RESOURCE_TYPES),
        "CFN_IGNORE_UNSUPPORTED_TYPE_UPDATE": ",".join(AWS_ONLY_RESOURCE_TYPES),
        "LAMBDA_RUNTIME_EXECUTOR": "host",
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
        # LocalStack's own calls between services (SNS -> SQS, pollers, rule targets, Lambda
        # invocations) go straight to its gateway instead of over HTTP to itself.
        "IN_MEMORY_CLIENT": "1",
        # This host may look like a container (/.dockerenv); LocalStack would then ignore
        # FILESYSTEM_ROOT and every instance would share (and, stopping, delete) /tmp/localstack.
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(STATE_DIR / f"fs-{port}"),
        "LOCALSTACK_VOLUME_DIR": str(STATE_DIR / f"volume-{port}"),
    }
    if profile == "test":
        env.update(TEST_PROFILE)
    return env


def start(port: int, profile: str, python: str, timeout: float) -> float:
    """Start LocalStack unless it already answers; return seconds until healthy."""
    if health(port):
        print(f"LocalStack already answers on 127.0.0.1:{port}")
        return 0.0
    STATE_DIR.mkdir(exist_ok=True)
    pid_file, log_file = _paths(port)
    began = time.monotonic()
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [python, "-m", "localstack.runtime.main"],
            env=environment(port, profile),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(str(process.pid))
    deadline = began + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"LocalStack exited with {process.returncode}; see {log_file}")
        if health(port):
            elapsed = time.monotonic() - began
            print(f"LocalStack ready on 127.0.0.1:{port} in {elapsed:.1f} s (log: {log_file})")
            return elapsed
        time.sleep(0.05)
    stop(port)
    raise SystemExit(f"LocalStack not healthy after {timeout:.0f} s; see {log_file}")


def stop(port: int, timeout: float = 15) -> None:
    """Stop the LocalStack this module started, with its whole process group."""
    pid_file, _ = _paths(port)
    if stop_process_group(pid_file, timeout):
        print(f"LocalStack on 127.0.0.1:{port} stopped")


def stop_process_group(pid_file: Path, timeout: float) -> bool:
    """Stop the process group whose leader ``pid_file`` names (SIGTERM, SIGKILL after
    ``timeout`` seconds) and remove the file; False when there was no such file."""
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pid_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    """Collect the leader's exit status when this process started it (``start`` in-process, as
    the test harnesses do): a zombie would keep its group alive until the timeout."""
    with contextlib.suppress(ChildProcessError):  # started by another process: its parent reaps
        os.waitpid(pid, os.WNOHANG)


def run_in_foreground(port: int, profile: str, python: str, timeout: float) -> None:
    """Start, print where things answer, and stop everything on Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    start(port, profile, python, timeout)
    print(f"ready: LocalStack http://127.0.0.1:{port} (health: /_localstack/health)")
    print("press Ctrl-C to stop")
    try:
        while health(port):
            time.sleep(1)
        print("LocalStack stopped answering; see its log")
    except KeyboardInterrupt:
        pass
    finally:
        stop(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status", "run"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT", 4566)))
    parser.add_argument("--profile", choices=["default", "test"], default="default")
    parser.add_argument("--python", default=str(ROOT / ".venv-localstack" / "bin" / "python"))
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    if args.action == "start":
        start(args.port, args.profile, args.python, args.timeout)
    elif args.action == "stop":
        stop(args.port)
    elif args.action == "run":
        run_in_foreground(args.port, args.profile, args.python, args.timeout)
    else:
        state = health(args.port)
        print(f"LocalStack on 127.0.0.1:{args.port}: {'running' if state else 'not running'}")
        return 0 if state else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
