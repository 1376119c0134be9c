"""What a deploy uploads before touching the stack: the Lambda zips and, when too large to pass
inline, the template, both under content-addressed keys of the account's artifacts bucket."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from infra.cloudformation import packaging
from infra.cloudformation.target import DeployError, Target
from infra.cloudformation.template import build_template
from infra.cloudformation.topology.blocks import pascal

MAX_TEMPLATE_BODY_BYTES = 51_200


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
