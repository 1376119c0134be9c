"""Deploy, inspect and operate the stack, through boto3 only.

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
`--parameter` flags.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.cloudformation import packaging
from infra.cloudformation.names import site_domain_name
from infra.cloudformation.template import VISIBILITY_TO_FUNCTION_TIMEOUT, build_template, pascal
from shared import aws
from shared.settings import AwsSettings

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
FRONTEND_DIR = ROOT / "frontend"
MAX_TEMPLATE_BODY_BYTES = 51_200
CAPABILITIES = ["CAPABILITY_IAM"]
# Physical names append up to 17 characters to the stack name (rule names allow 64, archives 48).
STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,29}$")
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

# Short timings for tests and demos; every other value keeps the template's production default.
TEST_PROFILE = {
    "FunctionTimeoutSeconds": "3",
    "QueueVisibilityTimeoutSeconds": "18",
    "MaxReceiveCount": "2",
    "MaximumBatchingWindowSeconds": "0",
    "MaximumConcurrency": "5",
    "FraudMaximumRetryAttempts": "0",
    "FraudMaximumEventAgeSeconds": "60",
    "FraudFunctionRetryAttempts": "0",
    "ArchiveRetentionDays": "1",
    "LogRetentionDays": "1",
    "AlarmPeriodSeconds": "10",
    "PowertoolsLogLevel": "DEBUG",
}
PROFILES: dict[str, dict[str, str]] = {"default": {}, "test": TEST_PROFILE}

# Outputs the orders service reads, under the names of its settings (ORDERS_*).
ORDERS_ENVIRONMENT = {
    "ORDERS_TOPIC_ARN": "OrderEventsTopicArn",
    "ORDERS_PAYMENTS_QUEUE_URL": "PaymentsQueueUrl",
    "ORDERS_EVENT_BUS_NAME": "EventBusName",
    "ORDERS_UPDATES_QUEUE_URL": "OrderUpdatesQueueUrl",
}
# The queues `redrive --queue` knows: (DLQ output, source queue output or None for the DLQ of an
# EventBridge target and its function, whose events go back on the bus).
DEAD_LETTER_QUEUES: dict[str, tuple[str, str | None]] = {
    "inventory": ("InventoryDlqUrl", "InventoryQueueUrl"),
    "email": ("EmailDlqUrl", "EmailQueueUrl"),
    "analytics": ("AnalyticsDlqUrl", "AnalyticsQueueUrl"),
    "payments": ("PaymentsDlqUrl", "PaymentsQueueUrl"),
    "order-updates": ("OrderUpdatesDlqUrl", "OrderUpdatesQueueUrl"),
    "fraud": ("FraudDlqUrl", None),
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".ico": "image/x-icon",
}


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


@dataclass(frozen=True)
class DeployResult:
    stack_change: str  # "created", "updated" or "unchanged"
    seconds: float
    outputs: dict[str, str]
    uploaded_frontend_files: int
    messages: list[str]


@cache
def template_parameters() -> Json:
    """The template's parameter declarations (name -> Type, Default, ...)."""
    declarations: Json = build_template()["Parameters"]
    return declarations


def parse_parameter_flags(flags: Iterable[str]) -> dict[str, str]:
    """`Key=Value` flags, each key a parameter of the template."""
    known = set(template_parameters())
    result: dict[str, str] = {}
    for flag in flags:
        key, separator, value = flag.partition("=")
        if not separator:
            raise DeployError(f"--parameter {flag!r} is not Key=Value")
        if key not in known:
            raise DeployError(
                f"--parameter {key} is not a template parameter; known: {sorted(known)}"
            )
        result[key] = value
    return result


def local_data_dir(stack_name: str) -> Path:
    """Where the SQLite databases of a stack on the emulator live."""
    return ROOT / ".data" / stack_name


def emulator_parameters(stack_name: str, orders_api_port: int) -> dict[str, str]:
    """What differs on LocalStack: local databases, site name, plain HTTP origins."""
    data_dir = local_data_dir(stack_name)
    databases = {
        f"{pascal(service)}DatabaseUrl": f"sqlite:///{data_dir / f'{service}.db'}"
        for service in packaging.SERVICES
    }
    return {
        "DeploymentTarget": "emulator",
        "SiteDomainName": site_domain_name(stack_name),
        # The stack creates and deletes its sender identity: one address per stack, so that
        # deleting a stack leaves the senders of other stacks on the same emulator verified.
        "SenderEmail": f"orders@{stack_name.lower()}.shop.localhost",
        "OrdersApiDomain": "127.0.0.1",
        "OrdersApiPort": str(orders_api_port),
        "OrdersApiProtocol": "http-only",
        "FunctionUrlOriginProtocol": "http-only",
        "ViewerProtocolPolicy": "allow-all",
        "PowertoolsTraceDisabled": "true",
        **databases,
    }


def resolve_parameters(
    target: Target, profile: str, overrides: Mapping[str, str], orders_api_port: int
) -> dict[str, str]:
    """Emulator values, then the profile, then overrides; fails naming missing parameters."""
    if profile not in PROFILES:
        raise DeployError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    values: dict[str, str] = {}
    if target.is_emulator:
        values |= emulator_parameters(target.stack_name, orders_api_port)
    values |= PROFILES[profile]
    values |= overrides
    missing = [
        name
        for name, spec in template_parameters().items()
        if "Default" not in spec
        and name not in values
        and not name.endswith("CodeKey")
        and name != "ArtifactsBucket"
    ]
    if missing:
        raise DeployError(
            "these parameters have no value (give --parameter Name=value): " + ", ".join(missing)
        )
    check_visibility_timeout(values)
    return values


def check_visibility_timeout(values: Mapping[str, str]) -> None:
    """Queue visibility must be at least six function timeouts, or messages run twice."""

    def value_of(name: str) -> int:
        text = values.get(name, str(template_parameters()[name]["Default"]))
        try:
            return int(text)
        except ValueError as error:
            raise DeployError(f"parameter {name} must be a whole number, got {text!r}") from error

    timeout = value_of("FunctionTimeoutSeconds")
    visibility = value_of("QueueVisibilityTimeoutSeconds")
    if visibility < VISIBILITY_TO_FUNCTION_TIMEOUT * timeout:
        raise DeployError(
            f"QueueVisibilityTimeoutSeconds {visibility} is less than "
            f"{VISIBILITY_TO_FUNCTION_TIMEOUT} x FunctionTimeoutSeconds {timeout}"
        )


# -- artifacts --------------------------------------------------------------------------------


def artifacts_bucket(target: Target) -> str:
    """The account's artifacts bucket, created (private) when missing.

    One per account and region, shared by every stack: keys are content hashes, so a zip that
    another stack already uploaded is not uploaded again. `destroy` leaves it in place.
    """
    account = target.client("sts").get_caller_identity()["Account"]
    name = f"shop-artifacts-{account}-{target.region}"
    s3 = target.client("s3")
    try:
        s3.head_bucket(Bucket=name)
        return name
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise DeployError(f"artifacts bucket {name} is not usable: {error}") from error
    create: dict[str, Any] = {"Bucket": name}
    if target.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    try:
        s3.create_bucket(**create)
    except ClientError as error:  # another deploy created it meanwhile
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return name


def upload_if_missing(target: Target, bucket: str, key: str, body: Callable[[], bytes]) -> bool:
    """Upload under a content-addressed key unless already there; True when uploaded."""
    s3 = target.client("s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body())
    return True


def upload_code(target: Target, bucket: str, messages: list[str]) -> dict[str, str]:
    """Package every service and upload the zips; returns the code-key parameters."""
    began = time.monotonic()
    artifacts = packaging.build_all()
    keys: dict[str, str] = {}
    for artifact in artifacts:
        key = f"lambda/{artifact.service}-{artifact.sha256}.zip"
        upload_if_missing(target, bucket, key, artifact.path.read_bytes)
        keys[f"{pascal(artifact.service)}CodeKey"] = key
        if not artifact.has_service_code:
            messages.append(
                f"services/{artifact.service}/ does not exist yet: its functions fail to import"
            )
    messages.append(
        f"packaged and uploaded {len(artifacts)} zips in {time.monotonic() - began:.1f} s"
    )
    return keys


def template_source(target: Target, bucket: str) -> dict[str, str]:
    """TemplateBody, or TemplateURL of an uploaded copy when the body is too large."""
    body = json.dumps(build_template(), separators=(",", ":"), sort_keys=True)
    if len(body.encode()) <= MAX_TEMPLATE_BODY_BYTES:
        return {"TemplateBody": body}
    key = f"templates/{hashlib.sha256(body.encode()).hexdigest()}.json"
    upload_if_missing(target, bucket, key, body.encode)
    return {"TemplateURL": f"https://{bucket}.s3.{target.region}.amazonaws.com/{key}"}


# -- the stack --------------------------------------------------------------------------------


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


def content_type(path: Path) -> str:
    return (
        CONTENT_TYPES.get(path.suffix)
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


def is_excluded_from_site(relative: Path) -> bool:
    """The site's tests, caches and hidden files stay out of the bucket."""
    return any(part.startswith(".") or part in ("tests", "__pycache__") for part in relative.parts)


def upload_frontend(target: Target, bucket: str, frontend_dir: Path) -> int:
    """Sync `frontend_dir` into the site bucket (changed files only); return files changed."""
    s3 = target.client("s3")
    remote: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            remote[item["Key"]] = item["ETag"].strip('"')
    local = {
        path.relative_to(frontend_dir).as_posix(): path
        for path in sorted(frontend_dir.rglob("*"))
        if path.is_file() and not is_excluded_from_site(path.relative_to(frontend_dir))
    }
    changed = 0
    for key, path in local.items():
        body = path.read_bytes()
        if remote.get(key) == hashlib.md5(body, usedforsecurity=False).hexdigest():
            continue
        cache = "no-cache" if path.suffix == ".html" else "public, max-age=300"
        s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type(path), CacheControl=cache
        )
        changed += 1
    for key in sorted(set(remote) - set(local)):
        s3.delete_object(Bucket=bucket, Key=key)
        changed += 1
    return changed


def invalidate(target: Target, distribution_id: str) -> str:
    response = target.client("cloudfront").create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"deploy-{time.time_ns()}",
        },
    )
    invalidation_id: str = response["Invalidation"]["Id"]
    return invalidation_id


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


def empty_bucket(target: Target, bucket: str) -> None:
    """Delete every object version so that CloudFormation can delete the bucket."""
    s3 = target.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


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


# -- operations -------------------------------------------------------------------------------


def queue_depths(target: Target) -> list[tuple[str, int, int]]:
    """(queue name, visible, in flight) of every queue, each followed by its dead-letter queue."""
    outputs = stack_outputs(target)
    sqs = target.client("sqs")
    rows = []
    for dlq_output, source_output in DEAD_LETTER_QUEUES.values():
        for output in (source_output, dlq_output):
            if output is None:
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=outputs[output],
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            rows.append(
                (
                    outputs[output].rsplit("/", 1)[-1],
                    int(attributes["ApproximateNumberOfMessages"]),
                    int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                )
            )
    return rows


def redrive(target: Target, queue: str) -> str:
    """Move every message of `queue`'s dead-letter queue back to where it came from."""
    if queue not in DEAD_LETTER_QUEUES:
        known = ", ".join(DEAD_LETTER_QUEUES)
        raise DeployError(f"no dead-letter queue for {queue!r}; choose one of {known}")
    dlq_output, source_output = DEAD_LETTER_QUEUES[queue]
    outputs = stack_outputs(target)
    if source_output is None:
        return redrive_to_bus(target, outputs[dlq_output], outputs["EventBusName"])
    sqs = target.client("sqs")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=outputs[dlq_output], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sqs.start_message_move_task(SourceArn=dlq_arn)
    while True:
        # the most recent task of this source comes first
        task = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"][0]
        if task["Status"] != "RUNNING":
            moved = task.get("ApproximateNumberOfMessagesMoved", 0)
            reason = f": {task['FailureReason']}" if task.get("FailureReason") else ""
            return f"redrive of {queue}: {task['Status']}, {moved} message(s) moved{reason}"
        time.sleep(target.poll_seconds)


def redrive_to_bus(target: Target, dlq_url: str, bus_name: str) -> str:
    """Put the events of an EventBridge-target DLQ back on the bus, deleting each once sent."""
    sqs, events = target.client("sqs"), target.client("events")
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return f"{moved} event(s) put back on bus {bus_name}"
        for message in messages:
            event = json.loads(message["Body"])
            events.put_events(
                Entries=[
                    {
                        "EventBusName": bus_name,
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                    }
                ]
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def replay(target: Target, start: datetime, end: datetime) -> str:
    """Replay the archive's events of [start, end) onto the bus; waits for the replay to end."""
    if end <= start:
        raise DeployError(
            f"replay window is empty: --end {end.isoformat()} <= --start {start.isoformat()}"
        )
    outputs = stack_outputs(target)
    # No retries: a retried StartReplay would only answer that the replay already exists.
    events = target.client("events", retries=0)
    archive = events.describe_archive(ArchiveName=outputs["ArchiveName"])
    name = f"{target.stack_name}-replay-{uuid.uuid4().hex[:8]}"[-64:]
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": outputs["EventBusArn"]},
    )
    while True:
        state = events.describe_replay(ReplayName=name)
        if state["State"] in ("COMPLETED", "FAILED", "CANCELLED"):
            if state["State"] != "COMPLETED":
                raise DeployError(f"replay {name} {state['State']}: {state.get('StateReason', '')}")
            return f"replay {name} completed"
        time.sleep(target.poll_seconds)


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
