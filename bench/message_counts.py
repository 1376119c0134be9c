"""What the emulator did during a run: Lambda invocations, SQS deliveries, handler durations.

Counted from LocalStack's log (invocations answered), the host executor's per-environment
logs (``REPORT`` lines and one outcome line per record from ``shared.consumer``) and the
orders' event streams (replies, each delivered through the order-updates queue).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.aws import emulator_client
from bench.procfs import proc_environ, stack_processes
from bench.stats import latency_summary

REPORT_LINE = re.compile(r"^REPORT RequestId: \S+\tDuration: ([0-9.]+) ms", re.MULTILINE)
RECORD_OUTCOME = re.compile(
    r'"message":"(?:[A-Za-z]+ handled|already handled: duplicate delivery ignored'
    r'|message [^"]* rejected: [^"]*|[A-Za-z]+ failed; it will be delivered again)"'
)


def sqs_deliveries(
    endpoint: str,
    stack: str,
    handlers: Mapping[str, Mapping[str, Any]],
    orders: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """SQS deliveries of a run: records the queue-fed functions dealt with (their log lines)
    plus the replies recorded in the orders' streams (each came through the order-updates
    queue). LocalStack's CloudWatch SQS metrics cannot be used: every empty poll of a mapping
    is a NumberOfEmptyReceives data point through a three-thread dispatcher, whose backlog
    makes the points trail the receives by minutes."""
    from shared.contracts import ORDER_EVENTS

    lam = emulator_client("lambda", endpoint)
    fed = {
        mapping["FunctionArn"].rsplit(":", 1)[-1]
        for mapping in lam.list_event_source_mappings()["EventSourceMappings"]
        if ":sqs:" in mapping.get("EventSourceArn", "")
    }
    queues = {
        function: int(handler["records"])
        for function, handler in handlers.items()
        if function in fed and function.startswith(f"{stack}-")
    }
    own = {contract.__name__ for contract in ORDER_EVENTS}
    replies = sum(
        1
        for order in orders
        for event_type in order.get("event_types", [])
        if event_type not in own
    )
    return {
        "source": "queue-fed Lambdas' logged records + replies in the order streams",
        "lambdas": queues,
        "order_updates": replies,
        "total": sum(queues.values()) + replies,
    }


def log_of(endpoint: str) -> Path:
    """The log ``infra.local.localstack_runner`` keeps for the LocalStack at ``endpoint``."""
    from infra.local.localstack_runner import STATE_DIR

    return STATE_DIR / f"localstack-{urlsplit(endpoint).port or 80}.log"


def lambda_invocations(endpoint: str, stack: str, began: float, ended: float) -> dict[str, Any]:
    """Invocations between two instants: answered invocations in LocalStack's log (exact, any
    function of that LocalStack), else CloudWatch ``Invocations`` of the stack's functions."""
    logged = localstack_log_counts(log_of(endpoint), began, ended)
    if logged is not None:
        return {"total": logged["lambda_invocations"], "source": "LocalStack log"}
    from datetime import UTC, datetime

    cloudwatch = emulator_client("cloudwatch", endpoint)
    lam = emulator_client("lambda", endpoint)
    total = 0
    for function in lam.list_functions()["Functions"]:
        if function["FunctionName"].startswith(f"{stack}-"):
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/Lambda",
                MetricName="Invocations",
                Dimensions=[{"Name": "FunctionName", "Value": function["FunctionName"]}],
                StartTime=datetime.fromtimestamp(began, UTC),
                EndTime=datetime.fromtimestamp(ended, UTC),
                Period=max(1, math.ceil(ended - began)),
                Statistics=["Sum"],
            )["Datapoints"]
            total += int(sum(point["Sum"] for point in points))
    return {"total": total, "source": "CloudWatch AWS/Lambda Invocations"}


def localstack_log_counts(log: Path, began: float, ended: float) -> dict[str, int] | None:
    """Counts of ``count_log_lines`` in the LocalStack runner's log (None: no log)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    return count_log_lines(lines, began, ended)


def count_log_lines(lines: Iterable[str], began: float, ended: float) -> dict[str, int]:
    """Lambda invocations answered (an execution environment posted its response or error
    back) and CloudWatch storage failures (metrics lost: host LocalStacks share one metrics
    database that another instance's shutdown can remove) logged between two instants."""
    from datetime import datetime

    counts = {"lambda_invocations": 0, "cloudwatch_failures": 0}
    for line in lines:
        if "/invocations/" in line and ("/response =>" in line or "/error =>" in line):
            key = "lambda_invocations"
        elif "unable to open database file" in line:
            key = "cloudwatch_failures"
        else:
            continue
        try:
            at = datetime.fromisoformat(line[:23]).timestamp()
        except ValueError:
            continue
        if began <= at <= ended:
            counts[key] += 1
    return counts


def records_handled(text: str) -> int:
    """Records a consumer dealt with (handled, duplicate, rejected or failed): one log line
    each from ``shared.consumer``."""
    return len(RECORD_OUTCOME.findall(text))


def report_durations(text: str) -> list[float]:
    """Seconds of each invocation in ``REPORT ... Duration: X ms`` lines."""
    return [float(match.group(1)) / 1000 for match in REPORT_LINE.finditer(text)]


class LambdaLogs:
    """Invocation durations and records dealt with per function since it was made: the host
    executor logs each execution environment to ``<tmp>/localstack-lambda-<runtime id>.log``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.offsets = {path: path.stat().st_size for path in self._logs() if path.exists()}

    def _logs(self) -> dict[Path, str]:
        logs = {}
        for pid, label in stack_processes(self.port, Path(os.devnull)).items():
            runtime_id = proc_environ(pid).get("LOCALSTACK_RUNTIME_ID")
            if label.startswith("lambda ") and runtime_id:
                path = Path(tempfile.gettempdir()) / f"localstack-lambda-{runtime_id}.log"
                logs[path] = label.removeprefix("lambda ")
        return logs

    def figures(self) -> dict[str, dict[str, Any]]:
        durations: dict[str, list[float]] = {}
        records: dict[str, int] = {}
        for path, function in self._logs().items():
            try:
                with path.open("rb") as log:
                    log.seek(self.offsets.get(path, 0))
                    text = log.read().decode(errors="replace")
            except OSError:
                continue
            durations.setdefault(function, []).extend(report_durations(text))
            records[function] = records.get(function, 0) + records_handled(text)
        return {
            function: {
                **latency_summary(values),
                "busy_s": sum(values),
                "records": records[function],
            }
            for function, values in sorted(durations.items())
        }
