"""Fetching from a distribution's origins: S3 buckets in LocalStack, and HTTP servers.

S3 origins are read through LocalStack's internal S3 client, in the distribution's account; the
key is the origin path and the normalised request path, decoded as S3 decodes a key, so no dot
segment leaves the origin path. Custom origins are spoken to over plain HTTP on their
``HTTPPort`` (local origins serve no TLS), with the origin's domain as ``Host``, the origin path
and the request path exactly as the viewer encoded it; names LocalStack hands out (Lambda
function URLs, for instance) do not resolve from Python here, so they are sent to LocalStack's own
gateway with that ``Host`` instead (``rules.origin_address``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

import requests
import urllib3
from botocore.exceptions import ClientError
from localstack.aws.connect import connect_to

from shop_localstack_ext.cloudfront.rules import normalised_path, origin_address, s3_bucket_of

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
S3_HEADERS = {
    "ContentType": "Content-Type",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "ContentDisposition": "Content-Disposition",
    "CacheControl": "Cache-Control",
    "ETag": "ETag",
    "Expires": "Expires",
}
PERCENT_ESCAPE = re.compile("%[0-9a-fA-F]{2}")
LIST_BUCKET_ACTIONS = frozenset({"s3:listbucket", "s3:list*", "s3:*", "*"})
# (URL as sent, headers) -> the headers to send
Signer = Callable[[str, dict[str, str]], dict[str, str]]


@dataclass(frozen=True)
class OriginResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass(frozen=True)
class OriginRequest:
    """What the edge sends to an origin, after the behaviour's forwarding rules; ``path`` as the
    viewer encoded it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


def s3_region_of(domain_name: str) -> str:
    match = re.search(r"\.s3[.-](?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com", domain_name)
    return match["region"] if match else "us-east-1"


def policy_allows_listing(policy_text: str | None) -> bool:
    """Whether a bucket policy grants listing to anyone, so a missing key answers 404."""
    statements = json.loads(policy_text or "{}").get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and LIST_BUCKET_ACTIONS & {
            a.lower() for a in actions
        }:
            return True
    return False


def missing_object_status(s3: Any, bucket: str) -> int:
    """403 as S3 answers CloudFront for a missing key unless the policy allows listing."""
    try:
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError:
        return 403
    return 404 if policy_allows_listing(policy) else 403


def fetch_from_s3(
    account_id: str, origin: dict[str, Any], request: OriginRequest
) -> OriginResponse:
    if request.method not in {"GET", "HEAD"}:
        return OriginResponse(403, [("Content-Type", "text/plain")], b"Method not allowed on S3")
    domain = origin["DomainName"]
    bucket = s3_bucket_of(domain)
    if bucket is None:
        return OriginResponse(502, [("Content-Type", "text/plain")], b"Not an S3 domain")
    s3 = connect_to(aws_access_key_id=account_id, region_name=s3_region_of(domain)).s3
    key = unquote(f"{origin.get('OriginPath') or ''}{normalised_path(request.path)}").lstrip("/")
    conditions = {
        "IfNoneMatch": request.headers.get("if-none-match"),
        "Range": request.headers.get("range"),
    }
    arguments = {k: v for k, v in conditions.items() if v}
    try:
        if request.method == "HEAD":
            found = s3.head_object(Bucket=bucket, Key=key, **arguments)
            body = b""
        else:
            found = s3.get_object(Bucket=bucket, Key=key, **arguments)
            body = found["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        if code in {"NoSuchKey", "404"}:
            status = missing_object_status(s3, bucket)
        return OriginResponse(status, [("Content-Type", "application/xml")], b"")
    headers = [
        (header, str(found[field])) for field, header in S3_HEADERS.items() if field in found
    ]
    if "LastModified" in found:
        modified = found["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT")
        headers.append(("Last-Modified", modified))
    if request.method == "HEAD":
        headers.append(("Content-Length", str(found["ContentLength"])))
    status = int(found["ResponseMetadata"]["HTTPStatusCode"])
    return OriginResponse(status, headers, body)


def fetch_from_custom(
    origin: dict[str, Any], request: OriginRequest, gateway: tuple[str, int], sign: Signer
) -> OriginResponse:
    """Proxy to a custom origin; ``gateway`` is LocalStack's own (host name, port); ``sign``
    gives the headers to send to a URL (signed, for an origin access control)."""
    custom = origin.get("CustomOriginConfig") or {}
    gateway_host, gateway_port = gateway
    host, port = origin_address(
        origin["DomainName"], int(custom.get("HTTPPort") or 80), gateway_port, gateway_host
    )
    path = PERCENT_ESCAPE.sub(lambda escape: escape.group().upper(), request.path)
    url = f"http://{host}:{port}{origin.get('OriginPath') or ''}{path}"
    if request.query:
        url = f"{url}?{urlencode(request.query)}"
    headers = {"host": origin["DomainName"], **request.headers}
    for header in (origin.get("CustomHeaders") or {}).get("Items") or []:
        headers[header["HeaderName"].lower()] = header["HeaderValue"]
    headers = sign(url, headers)
    timeouts = (
        float(origin.get("ConnectionTimeout") or 10),
        float(custom.get("OriginReadTimeout") or 30),
    )
    try:
        with requests.Session() as session:
            sent = session.prepare_request(
                requests.Request(request.method, url, headers=headers, data=request.body or None)
            )
            # Preparing re-quotes the path (%2e to ".", for one); the origin gets it as sent
            # (urllib3 writes escapes upper-case, as `path` has them, so a signature covers it).
            sent.url = url
            reply = session.send(sent, allow_redirects=False, timeout=timeouts, stream=True)
            with reply:
                body = reply.raw.read(decode_content=False)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        message = f"CloudFront could not get an answer from the origin: {error}".encode()
        return OriginResponse(502, [("Content-Type", "text/plain")], message)
    kept = [(k, v) for k, v in reply.raw.headers.items() if k.lower() not in HOP_BY_HOP]
    return OriginResponse(reply.status_code, kept, body)
