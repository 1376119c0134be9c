"""CPU and memory of the stack's processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return None


def proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of a process, or None once it is gone."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def proc_rss_bytes(pid: int) -> int:
    text = _read(f"/proc/{pid}/status") or ""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def proc_environ(pid: int) -> dict[str, str]:
    text = _read(f"/proc/{pid}/environ") or ""
    return dict(item.split("=", 1) for item in text.split("\0") if "=" in item)


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))) is not None:
            parents[int(entry)] = stat[0]
    return parents


def descendants(root: int, parents: Mapping[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def stack_processes(port: int, orders_pid_file: Path) -> dict[int, str]:
    """Every process of the stack with a label: LocalStack (found by the address it listens
    on), each Lambda execution environment under it, the orders service and its children."""
    parents = _parents()
    labels: dict[int, str] = {}
    listen = f"127.0.0.1:{port}"
    for pid in parents:
        cmdline = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")
        if (
            "localstack.runtime.main" in cmdline
            and proc_environ(pid).get("GATEWAY_LISTEN") == listen
        ):
            for child in descendants(pid, parents):
                function = proc_environ(child).get("AWS_LAMBDA_FUNCTION_NAME")
                labels[child] = f"lambda {function}" if function else "localstack"
    try:
        orders_pid = int(orders_pid_file.read_text())
    except (OSError, ValueError):
        orders_pid = None
    if orders_pid in parents:
        for child in descendants(orders_pid, parents):
            labels[child] = "orders service"
    return labels


class ProcessSampler:
    """Samples CPU ticks and RSS of the stack's processes every ``every`` seconds."""

    def __init__(self, find: Callable[[], dict[int, str]], every: float = 1.0) -> None:
        self.find = find
        self.every = every
        self.first_ticks: dict[int, int] = {}
        self.last_ticks: dict[int, int] = {}
        self.labels: dict[int, str] = {}
        self.peak_rss: dict[str, int] = {}
        self.peak_total_rss = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self.began = time.monotonic()
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join()
        self._sample()
        self.elapsed = time.monotonic() - self.began

    def _run(self) -> None:
        while not self.stopping.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        rss: dict[str, int] = {}
        for pid, label in self.find().items():
            stat = proc_stat(pid)
            if stat is None:
                continue
            self.labels[pid] = label
            self.first_ticks.setdefault(pid, stat[1])
            self.last_ticks[pid] = stat[1]
            rss[label] = rss.get(label, 0) + proc_rss_bytes(pid)
        for label, value in rss.items():
            self.peak_rss[label] = max(self.peak_rss.get(label, 0), value)
        self.peak_total_rss = max(self.peak_total_rss, sum(rss.values()))

    def figures(self) -> dict[str, Any]:
        cpu: dict[str, float] = {}
        pids: dict[str, int] = {}
        for pid, label in self.labels.items():
            used = (self.last_ticks[pid] - self.first_ticks[pid]) / CLOCK_TICKS
            cpu[label] = cpu.get(label, 0.0) + 100 * used / self.elapsed
            pids[label] = pids.get(label, 0) + 1
        return {
            "seconds": self.elapsed,
            "processes": {
                label: {
                    "pids": pids[label],
                    "cpu_percent": cpu[label],
                    "peak_rss_bytes": self.peak_rss.get(label, 0),
                }
                for label in sorted(cpu)
            },
            "cpu_percent": sum(cpu.values()),
            "peak_rss_bytes": self.peak_total_rss,
        }
