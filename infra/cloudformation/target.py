"""Where a deploy or an operation acts (`Target`), and what the stack there reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import aws
from shared.settings import AwsSettings

# Physical names append up to 17 characters to the stack name (rule names allow 64, archives 48).
STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,29}$")


class DeployError(RuntimeError):
    """Deployment or an operation failed; the message says what and where."""


@dataclass(frozen=True)
class Target:
    """Where to deploy: AWS (no endpoint) or an emulator at `endpoint_url`."""

    stack_name: str
    region: str
    endpoint_url: str | None

    def __post_init__(self) -> None:
        if not STACK_NAME.match(self.stack_name):
            raise DeployError(
                f"stack name {self.stack_name!r} must start with a letter and hold at most 30"
                " letters, digits and hyphens (resource names are derived from it)"
            )

    @property
    def is_emulator(self) -> bool:
        return self.endpoint_url is not None

    def client(self, service: str, retries: int = 4) -> Any:
        """A client of the shared (cached) factory aimed at this target."""
        settings = AwsSettings(
            aws_region=self.region, aws_endpoint_url=self.endpoint_url, aws_max_attempts=retries
        )
        return aws.client(service, settings)

    @property
    def poll_seconds(self) -> float:
        return 0.25 if self.is_emulator else 5.0


def describe_stack(target: Target) -> dict[str, Any] | None:
    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=target.stack_name)
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    stack: dict[str, Any] = stacks["Stacks"][0]
    return None if stack["StackStatus"] == "DELETE_COMPLETE" else stack


def stack_outputs(target: Target) -> dict[str, str]:
    stack = describe_stack(target)
    if stack is None:
        raise DeployError(f"stack {target.stack_name} does not exist: run `make deploy` first")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
