"""Deploying a service's Lambda zip (as ``infra.cloudformation.packaging`` builds it) on
LocalStack, where the host executor runs it, for tests of the packaged handler behind real
triggers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.cloudformation.packaging import BUILD_DIR, DEPS_STAMP, build_service
from shared.tests.polling import eventually
from shared.tests.queues import arn_of

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def package(service: str, build_dir: Path) -> bytes:
    """The service's zip, built into ``build_dir`` from the installed Lambda dependencies."""
    deps = BUILD_DIR / "deps"
    if not (deps / DEPS_STAMP).exists():
        pytest.fail(
            f"Lambda dependencies are not installed in {deps}: "
            "run python -m infra.cloudformation.packaging"
        )
    artifact = build_service(service, deps, (deps / DEPS_STAMP).read_text(), build_dir=build_dir)
    return artifact.path.read_bytes()


class Functions:
    """Creates functions and event source mappings; ``cleanup`` deletes them."""

    def __init__(self, localstack: Any) -> None:
        self.client = localstack.client("lambda")
        self.logs = localstack.client("logs")
        self.functions: list[str] = []
        self.mappings: list[str] = []

    def create(
        self,
        name: str,
        code: bytes,
        handler: str,
        environment: dict[str, str],
        **extra: Any,
    ) -> str:
        arn: str = self.client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=30,
            MemorySize=512,
            Environment={
                "Variables": {
                    "POWERTOOLS_METRICS_NAMESPACE": "Shop",
                    "POWERTOOLS_TRACE_DISABLED": "true",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                    **environment,
                }
            },
            **extra,
        )["FunctionArn"]
        self.functions.append(name)
        self.client.get_waiter("function_active_v2").wait(FunctionName=name)
        return arn

    def consume(self, function: str, queue_arn: str) -> None:
        """An SQS event source mapping with partial batch responses, enabled before returning."""
        mapping = self.client.create_event_source_mapping(
            FunctionName=function,
            EventSourceArn=queue_arn,
            BatchSize=10,
            MaximumBatchingWindowInSeconds=0,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )["UUID"]
        self.mappings.append(mapping)
        eventually(
            lambda: self.client.get_event_source_mapping(UUID=mapping)["State"] == "Enabled",
            f"event source mapping {mapping} to be enabled",
        )

    def __enter__(self) -> Functions:
        return self

    def __exit__(self, *_: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        for mapping in self.mappings:
            self.client.delete_event_source_mapping(UUID=mapping)
        for name in self.functions:
            self.client.delete_function(FunctionName=name)
            groups = self.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")
            for group in groups["logGroups"]:
                self.logs.delete_log_group(logGroupName=group["logGroupName"])


def queue_with_dlq(
    localstack: Any, queues: Callable[..., str], name: str, max_receive_count: int = 2
) -> tuple[str, str, str]:
    """(queue url, queue arn, DLQ url): a short visibility timeout, the DLQ after
    ``max_receive_count`` receives."""
    sqs = localstack.client("sqs")
    dlq_url = queues(f"{name}-dlq")
    dlq_arn = arn_of(sqs, dlq_url)
    queue_url = queues(
        name,
        VisibilityTimeout="2",
        RedrivePolicy=(
            f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "{max_receive_count}"}}'
        ),
    )
    return queue_url, arn_of(sqs, queue_url), dlq_url
