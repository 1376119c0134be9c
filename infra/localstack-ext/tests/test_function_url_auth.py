"""``AWS_IAM`` on function URLs (`shop_localstack_ext.function_urls`), on LocalStack.

One function with two URLs: ``$LATEST`` with ``AWS_IAM``, whose policy admits CloudFront on
behalf of one distribution, and the alias ``public`` with ``NONE``. On an unpatched LocalStack
4.13.1 every request below is served, the unsigned and the forged ones too.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shared.tests.lambda_zip import zip_of

pytestmark = pytest.mark.integration

ECHO_HANDLER = """
import json


def handler(event, context):
    seen = {"path": event["rawPath"], "body": event.get("body")}
    headers = {"Content-Type": "application/json"}
    return {"statusCode": 200, "headers": headers, "body": json.dumps(seen)}
"""
ACCOUNT = "000000000000"
DISTRIBUTION_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2FURLEXAMPLE"
INTERNAL_KEY = "__internal_call__"  # localstack.constants.INTERNAL_AWS_ACCESS_KEY_ID and secret


@dataclass(frozen=True)
class Urls:
    private: str
    public: str


@pytest.fixture(scope="module")
def urls(localstack: Any) -> Iterator[Urls]:
    client = localstack.client("lambda")
    name = f"t-{uuid.uuid4().hex[:12]}"
    client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": ECHO_HANDLER})},
    )
    try:
        client.get_waiter("function_active_v2").wait(FunctionName=name)
        version = client.publish_version(FunctionName=name)["Version"]
        client.create_alias(FunctionName=name, Name="public", FunctionVersion=version)
        for action in ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction"):
            client.add_permission(
                FunctionName=name,
                StatementId=action.replace(":", "-"),
                Action=action,
                Principal="cloudfront.amazonaws.com",
                SourceArn=DISTRIBUTION_ARN,
            )
        private = client.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")
        public = client.create_function_url_config(
            FunctionName=name, Qualifier="public", AuthType="NONE"
        )
        yield Urls(private["FunctionUrl"], public["FunctionUrl"])
    finally:
        client.delete_function(FunctionName=name)


def send(
    url: str, headers: dict[str, str], method: str = "GET", body: bytes = b""
) -> httpx.Response:
    """To the URL through LocalStack's gateway at 127.0.0.1, with the URL's host in ``Host``."""
    parts = urlsplit(url)
    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    target = f"{endpoint}{parts.path}{'?' + parts.query if parts.query else ''}"
    return httpx.request(
        method, target, content=body, headers={"Host": parts.netloc, **headers}, timeout=60
    )


def signed_headers(
    url: str,
    method: str = "GET",
    body: bytes = b"",
    key: str = "test",
    secret: str = "test",
    payload_hash: str | None = None,
    service: str = "lambda",
    region: str = "us-east-1",
    on_behalf: dict[str, str] | None = None,
) -> dict[str, str]:
    """SigV4 headers of a request to ``url``, as an AWS SDK signs them."""
    headers = {"x-amz-content-sha256": payload_hash or hashlib.sha256(body).hexdigest()}
    if on_behalf is not None:
        headers["x-localstack-data"] = json.dumps(on_behalf, separators=(",", ":"))
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return {name: value for name, value in request.headers.items() if name.lower() != "host"}


def as_cloudfront(url: str, source_arn: str) -> dict[str, str]:
    on_behalf = {"service_principal": "cloudfront", "source_arn": source_arn}
    return signed_headers(url, key=INTERNAL_KEY, secret=INTERNAL_KEY, on_behalf=on_behalf)


def assert_forbidden(reply: httpx.Response) -> None:
    assert reply.status_code == 403, reply.text
    assert reply.json() == {"Message": "Forbidden"}
    assert reply.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_an_unsigned_request_is_forbidden_unless_the_url_takes_none(urls: Urls) -> None:
    assert_forbidden(send(f"{urls.private}items", {}))
    served = send(f"{urls.public}items", {})
    assert served.status_code == 200, served.text
    assert served.json()["path"] == "/items"


def test_a_request_signed_with_the_test_credentials_of_the_functions_account_is_served(
    urls: Urls,
) -> None:
    url, body = f"{urls.private}items?sku=s-1&a=b", b'{"sku": "s-1"}'
    headers = {**signed_headers(url, "POST", body), "Content-Type": "application/json"}
    reply = send(url, headers, "POST", body)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"path": "/items", "body": '{"sku": "s-1"}'}


@pytest.mark.parametrize(
    "forgery",
    [
        "wrong secret",
        "another path",
        "body not the one hashed",
        "unsigned payload",
        "not lambda",
        "another region",
    ],
)
def test_a_signature_that_does_not_verify_is_forbidden(urls: Urls, forgery: str) -> None:
    url, body = f"{urls.private}items", b'{"sku": "s-1"}'
    sent_to, sent_body = url, body
    if forgery == "wrong secret":
        headers = signed_headers(url, "POST", body, secret="not-test")
    elif forgery == "another path":
        headers, sent_to = signed_headers(url, "POST", body), f"{urls.private}admin"
    elif forgery == "body not the one hashed":
        headers, sent_body = signed_headers(url, "POST", body), b'{"sku": "s-2"}'
    elif forgery == "unsigned payload":
        headers = signed_headers(url, "POST", body, payload_hash=UNSIGNED_PAYLOAD)
    elif forgery == "not lambda":
        headers = signed_headers(url, "POST", body, service="s3")
    else:
        headers = signed_headers(url, "POST", body, region="eu-west-1")
    assert_forbidden(send(sent_to, headers, "POST", sent_body))


def test_cloudfront_is_admitted_on_behalf_of_the_distribution_the_policy_names_only(
    urls: Urls,
) -> None:
    url = f"{urls.private}items"
    served = send(url, as_cloudfront(url, DISTRIBUTION_ARN))
    assert served.status_code == 200, served.text
    other_distribution = DISTRIBUTION_ARN.replace("E2FURLEXAMPLE", "E3OTHEREXAMPLE")
    assert_forbidden(send(url, as_cloudfront(url, other_distribution)))
    assert_forbidden(send(url, signed_headers(url, key="111111111111")))
