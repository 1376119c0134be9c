"""Create, update and delete the stack through change sets (boto3 only), and the command line of
every stack operation.

    python -m infra.cloudformation.deploy deploy   [--stack shop] [--profile default|test]
                                           [--parameter K=V ...]
    python -m infra.cloudformation.deploy destroy  [--stack shop]
    python -m infra.cloudformation.deploy outputs  [--stack shop] [--format text|env|json]
    python -m infra.cloudformation.deploy dlq      [--stack shop]
    python -m infra.cloudformation.deploy redrive  [--stack shop] --queue <name>
    python -m infra.cloudformation.deploy replay   [--stack shop] --start ISO --end ISO

The target follows the configuration: with `AWS_ENDPOINT_URL` set (LocalStack) the emulator
parameters apply (SQLite databases under `.data/<stack>/`, site `shop.localhost`, plain-HTTP
origins); without it, AWS, where the database URLs must be given as parameters. Parameter values
stack up: template defaults (production), then the emulator values, then the `--profile`, then
`--parameter` flags (`profiles`). A deploy uploads the Lambda zips (`artifacts`), creates or
updates the stack, then syncs the site (`site_content`); `dlq`, `redrive` and `replay` are in
`operations`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.cloudformation import packaging
from infra.cloudformation.artifacts import artifacts_bucket, template_source, upload_code
from infra.cloudformation.operations import DEAD_LETTER_QUEUES, queue_depths, redrive, replay
from infra.cloudformation.profiles import (
    PROFILES,
    TEST_PROFILE,
    local_data_dir,
    parse_parameter_flags,
    resolve_parameters,
)
from infra.cloudformation.site_content import empty_bucket, invalidate, upload_frontend
from infra.cloudformation.target import DeployError, Target, describe_stack, stack_outputs
from infra.cloudformation.topology.blocks import Json

# What callers of `deploy()` need, importable from here.
__all__ = [
    "TEST_PROFILE",
    "DeployError",
    "DeployResult",
    "Target",
    "deploy",
    "destroy",
    "format_outputs",
    "local_data_dir",
    "main",
]

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"
CAPABILITIES = ["CAPABILITY_IAM"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# LocalStack 4.13.1 reports these types updated without updating them (their providers have no
# update handler; the engine logs a warning and keeps the old resource), so the deploy refuses
# such a change set on the emulator instead of claiming an update that did not happen.
EMULATOR_UNUPDATABLE_TYPES = frozenset(
    {
        "AWS::CloudWatch::Alarm",
        "AWS::Events::EventBus",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lambda::Url",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
    }
)
UNUPDATABLE_STATES = ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED", "DELETE_FAILED")

# Outputs the orders service reads, under the names of its settings (ORDERS_*, OPERATORS_*).
ORDERS_ENVIRONMENT = {
    "ORDERS_TOPIC_ARN": "OrderEventsTopicArn",
    "ORDERS_PAYMENTS_QUEUE_URL": "PaymentsQueueUrl",
    "ORDERS_EVENT_BUS_NAME": "EventBusName",
    "ORDERS_UPDATES_QUEUE_URL": "OrderUpdatesQueueUrl",
    "OPERATORS_PATH": "OperatorsPath",
}


@dataclass(frozen=True)
class DeployResult:
    stack_change: str  # "created", "updated" or "unchanged"
    seconds: float
    outputs: dict[str, str]
    uploaded_frontend_files: int
    messages: list[str]


def failure_events(target: Target, since: datetime) -> list[str]:
    """Resource events that explain a failed operation, oldest first."""
    events = target.client("cloudformation").describe_stack_events(StackName=target.stack_name)
    lines = [
        f"  {event['LogicalResourceId']} ({event['ResourceType']}): "
        f"{event['ResourceStatus']} {event.get('ResourceStatusReason', '')}"
        for event in events["StackEvents"]
        if event["Timestamp"] >= since and event["ResourceStatus"].endswith("FAILED")
    ]
    return list(reversed(lines))


def wait_for_stack(target: Target, operation: str, since: datetime, timeout: float = 1800) -> str:
    """Poll until the stack leaves its *_IN_PROGRESS state; raise with the failing events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack = describe_stack(target)
        if stack is None:
            if operation == "delete":
                return "DELETE_COMPLETE"
            raise DeployError(f"stack {target.stack_name} vanished during {operation}")
        status: str = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            succeeded = status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE")
            if not succeeded:
                reason = stack.get("StackStatusReason", "")
                details = (
                    "\n".join(failure_events(target, since)) or "  (no failed resource events)"
                )
                name = target.stack_name
                raise DeployError(
                    f"{operation} of stack {name} ended in {status} {reason}\n{details}"
                )
            return status
        time.sleep(target.poll_seconds)
    raise DeployError(f"{operation} of stack {target.stack_name} did not finish in {timeout:.0f} s")


def wait_for_change_set(target: Target, name: str) -> dict[str, Any]:
    cloudformation = target.client("cloudformation")
    while True:
        change_set: dict[str, Any] = cloudformation.describe_change_set(
            StackName=target.stack_name, ChangeSetName=name
        )
        if change_set["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return change_set
        time.sleep(target.poll_seconds)


def refuse_changes_the_emulator_would_skip(target: Target, change_set: Json) -> None:
    """Fail, naming the resources, when LocalStack would skip their in-place modification."""
    skipped = [
        f"{change['LogicalResourceId']} ({change['ResourceType']})"
        for change in (entry["ResourceChange"] for entry in change_set["Changes"])
        if change["Action"] == "Modify" and change["ResourceType"] in EMULATOR_UNUPDATABLE_TYPES
    ]
    if skipped:
        target.client("cloudformation").delete_change_set(
            StackName=target.stack_name, ChangeSetName=change_set["ChangeSetName"]
        )
        raise DeployError(
            f"LocalStack cannot update {', '.join(skipped)} in place and would keep the old"
            f" values: destroy the stack {target.stack_name} and deploy it again"
        )


def create_or_update_stack(
    target: Target, source: Mapping[str, str], parameters: Mapping[str, str]
) -> str:
    """Create or update the stack through a change set: "created", "updated" or "unchanged"."""
    cloudformation = target.client("cloudformation")
    since = datetime.now().astimezone()
    existing = describe_stack(target)
    if existing is not None and existing["StackStatus"] in UNUPDATABLE_STATES:
        # A stack whose creation failed cannot be updated: remove it and create it again.
        print(f"stack {target.stack_name} is {existing['StackStatus']}: deleting it first")
        cloudformation.delete_stack(StackName=target.stack_name)
        wait_for_stack(target, "delete", since)
        existing = None
    name = f"deploy-{time.time_ns()}"
    cloudformation.create_change_set(
        StackName=target.stack_name,
        ChangeSetName=name,
        ChangeSetType="CREATE" if existing is None else "UPDATE",
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in sorted(parameters.items())
        ],
        Capabilities=CAPABILITIES,
        Tags=[{"Key": "project", "Value": "shop-order-processing"}],
        **source,
    )
    change_set = wait_for_change_set(target, name)
    if change_set["Status"] == "FAILED" or not change_set.get("Changes"):
        reason = change_set.get("StatusReason", "")
        nothing_to_do = not change_set.get("Changes") or any(n in reason for n in NO_CHANGES)
        if existing is not None and nothing_to_do:
            cloudformation.delete_change_set(StackName=target.stack_name, ChangeSetName=name)
            return "unchanged"
        raise DeployError(f"change set of stack {target.stack_name} failed: {reason}")
    if target.is_emulator and existing is not None:
        refuse_changes_the_emulator_would_skip(target, change_set)
    cloudformation.execute_change_set(StackName=target.stack_name, ChangeSetName=name)
    wait_for_stack(target, "create" if existing is None else "update", since)
    return "created" if existing is None else "updated"


def deploy(
    target: Target,
    profile: str = "default",
    overrides: Mapping[str, str] | None = None,
    orders_api_port: int = 8000,
    frontend_dir: Path = FRONTEND_DIR,
) -> DeployResult:
    """Package, upload, create or update the stack, then publish the frontend."""
    began = time.monotonic()
    parameters = resolve_parameters(target, profile, overrides or {}, orders_api_port)
    if target.is_emulator:
        local_data_dir(target.stack_name).mkdir(parents=True, exist_ok=True)
    messages: list[str] = []
    bucket = artifacts_bucket(target)
    parameters |= upload_code(target, bucket, messages)
    parameters["ArtifactsBucket"] = bucket
    stack_change = create_or_update_stack(target, template_source(target, bucket), parameters)
    outputs = stack_outputs(target)
    uploaded = 0
    if frontend_dir.is_dir():
        uploaded = upload_frontend(target, outputs["FrontendBucketName"], frontend_dir)
        if uploaded:
            invalidation = invalidate(target, outputs["DistributionId"])
            messages.append(f"frontend: {uploaded} file(s) changed, invalidation {invalidation}")
    return DeployResult(stack_change, time.monotonic() - began, outputs, uploaded, messages)


def destroy(target: Target) -> bool:
    """Delete the stack (emptying the site bucket first) and, on the emulator, its local
    databases; False when there was no stack."""
    stack = describe_stack(target)
    if stack is not None:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if bucket := outputs.get("FrontendBucketName"):
            try:
                empty_bucket(target, bucket)
            except ClientError as error:
                if error.response["Error"]["Code"] != "NoSuchBucket":
                    raise
        since = datetime.now().astimezone()
        target.client("cloudformation").delete_stack(StackName=target.stack_name)
        wait_for_stack(target, "delete", since)
    if target.is_emulator:
        shutil.rmtree(local_data_dir(target.stack_name), ignore_errors=True)
    return stack is not None


# -- command line -----------------------------------------------------------------------------


def target_from(args: argparse.Namespace) -> Target:
    return Target(
        stack_name=args.stack,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
    )


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.astimezone()


def format_outputs(outputs: Mapping[str, str], style: str) -> str:
    if style == "json":
        return json.dumps(dict(sorted(outputs.items())), indent=2)
    if style == "env":
        return "\n".join(f"{name}={outputs[key]}" for name, key in ORDERS_ENVIRONMENT.items())
    return "\n".join(f"{key}={value}" for key, value in sorted(outputs.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "command", choices=["deploy", "destroy", "outputs", "dlq", "redrive", "replay"]
    )
    parser.add_argument("--stack", default=os.environ.get("SHOP_STACK_NAME", "shop"))
    parser.add_argument(
        "--profile", choices=list(PROFILES), default=os.environ.get("SHOP_PROFILE", "default")
    )
    parser.add_argument("--parameter", action="append", default=[], metavar="Key=Value")
    parser.add_argument(
        "--orders-api-port", type=int, default=int(os.environ.get("ORDERS_API_PORT", "8000"))
    )
    parser.add_argument("--format", choices=["text", "env", "json"], default="text")
    parser.add_argument(
        "--queue",
        choices=list(DEAD_LETTER_QUEUES),
        help="redrive: the queue whose DLQ to move back",
    )
    parser.add_argument("--start", type=parse_time, help="replay: window start (ISO 8601)")
    parser.add_argument("--end", type=parse_time, help="replay: window end (ISO 8601)")
    args = parser.parse_args(argv)
    try:
        target = target_from(args)
        if args.command == "deploy":
            result = deploy(
                target, args.profile, parse_parameter_flags(args.parameter), args.orders_api_port
            )
            for message in result.messages:
                print(message)
            print(f"stack {target.stack_name}: {result.stack_change} in {result.seconds:.1f} s")
            print(format_outputs(result.outputs, "env"))
        elif args.command == "destroy":
            gone = destroy(target)
            print(f"stack {target.stack_name} {'deleted' if gone else 'did not exist'}")
        elif args.command == "outputs":
            print(format_outputs(stack_outputs(target), args.format))
        elif args.command == "dlq":
            for name, visible, in_flight in queue_depths(target):
                print(f"{name:<48} {visible:>6} visible {in_flight:>6} in flight")
        elif args.command == "redrive":
            if not args.queue:
                parser.error("redrive needs --queue")
            print(redrive(target, args.queue))
        else:
            if not (args.start and args.end):
                parser.error("replay needs --start and --end")
            print(replay(target, args.start, args.end))
    except (DeployError, packaging.PackagingError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
