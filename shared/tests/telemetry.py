"""A ``shared.observability.Telemetry`` for unit tests: it keeps what a service said."""

from __future__ import annotations

from collections import Counter
from typing import Any


class RecordingTelemetry:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []
        self.counts: Counter[str] = Counter()
        self.measures: list[tuple[str, int, dict[str, str]]] = []

    def info(self, message: str, **extra: Any) -> None:
        self.lines.append(("INFO", message, extra))

    def warning(self, message: str, **extra: Any) -> None:
        self.lines.append(("WARNING", message, extra))

    def error(self, message: str, **extra: Any) -> None:
        self.lines.append(("ERROR", message, extra))

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value

    def measure(self, name: str, value: int, **dimensions: str) -> None:
        self.measures.append((name, value, dimensions))

    def messages(self, level: str | None = None) -> list[str]:
        return [message for at, message, _ in self.lines if level in (None, at)]
