"""Processes the bench starts: servers it waits for, and helpers that answer in JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(name: str, command: Sequence[str], env: Mapping[str, str], port: int) -> Iterator[str]:
    """Run ``command`` (a server on ``port``) until the block ends; its base URL once it
    answers HTTP at all. Stopped with SIGTERM, killed when it does not stop in 15 s."""
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{name} server exited with {process.returncode}")
            try:
                httpx.get(f"{url}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{name} server did not answer within 60 s")
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def json_of(
    command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float | None = None
) -> Any:
    """Run ``command`` to its end (with ``env`` over this environment) and parse what it
    printed as JSON."""
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(
            f"{' '.join(command[1:4])} exited with {done.returncode}: {done.stderr[-2000:]}"
        )
    return json.loads(done.stdout)
