"""`make demo` (``python -m infra.local.stack run``): the whole shop comes up with a demo operator
whose credential it prints, and Ctrl-C leaves no process of it running."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from infra.local.localstack_runner import STATE_DIR

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only]

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def processes_mentioning(needle: str) -> list[int]:
    """Pids whose command line or environment mentions ``needle``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if needle.encode() in text:
            found.append(int(proc.name))
    return found


def test_ctrl_c_stops_every_process_the_demo_started() -> None:
    port, api_port = free_port(), free_port()
    stack = f"demo-{uuid.uuid4().hex[:8]}"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local.stack",
            "run",
            "--stack",
            stack,
            "--port",
            str(port),
            "--api-port",
            str(api_port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 240
        while not any("press Ctrl-C" in line for line in lines):
            line = demo.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(lines)
            lines.append(line)
        assert any(line.startswith("ready in") for line in lines)
        assert any(f"http://{stack}.localhost:{port}/" in line for line in lines)
        assert processes_mentioning(f"127.0.0.1:{port}"), "LocalStack and what it runs"
        assert processes_mentioning(f"--port\0{api_port}"), "the orders service"
        [credential] = [
            found[1]
            for line in lines
            if (found := re.match(r"\s+operator\s+demo, credential (\S+)$", line))
        ]
        orders = f"http://127.0.0.1:{api_port}/api/orders"
        as_demo = {"Authorization": f"Bearer {credential}"}
        assert httpx.get(orders, headers=as_demo, timeout=10).status_code == 200
        assert httpx.get(orders, timeout=10).status_code == 401

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=90) == 0, demo.stdout.read()
    finally:
        if demo.poll() is None:
            demo.kill()

    deadline = time.monotonic() + 10
    while (left := processes_mentioning(f"127.0.0.1:{port}")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"still running after Ctrl-C: {left}"
    assert not processes_mentioning(f"--port\0{api_port}"), "the orders service still runs"
    assert not (STATE_DIR / f"localstack-{port}.pid").exists()
