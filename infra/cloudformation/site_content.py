"""The static site in its bucket: sync the frontend folder (changed files only), invalidate the
distribution, empty the bucket before the stack deletes it."""

from __future__ import annotations

import hashlib
import mimetypes
import time
from pathlib import Path

from infra.cloudformation.target import Target

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
