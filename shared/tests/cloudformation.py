"""Waiting for CloudFormation stacks on LocalStack and reading what they report."""

from __future__ import annotations

import time
from typing import Any


def settle(cloudformation: Any, stack: str, timeout: float = 60) -> dict[str, Any]:
    """The stack's description once it is no longer ``*_IN_PROGRESS``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: dict[str, Any] = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        if not found["StackStatus"].endswith("_IN_PROGRESS"):
            return found
        time.sleep(0.2)
    raise AssertionError(f"stack {stack} still in progress after {timeout} s")


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def failures(cloudformation: Any, stack: str) -> list[str]:
    """``<logical id>: <reason>`` of every resource event that failed."""
    events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    return [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
        for e in events
        if e["ResourceStatus"].endswith("_FAILED")
    ]
