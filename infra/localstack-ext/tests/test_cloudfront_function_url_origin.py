"""The CloudFront edge in the host LocalStack serves a Lambda function URL as a custom origin:
a CloudFormation stack of a function, its ``AWS_IAM`` URL, the function's permissions for
CloudFront on behalf of the distribution, an origin access control for Lambda and a distribution
whose origin is the URL's domain (CachingDisabled, AllViewerExceptHostHeader), reached at
127.0.0.1 with a ``Host`` header. The edge signs its origin requests as the origin access control
says; the URL itself answers an unsigned request 403."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from infra.cloudformation.topology.site import ALL_VIEWER_EXCEPT_HOST_HEADER, CACHING_DISABLED
from shared.tests.cloudformation import failures, outputs, settle

pytestmark = pytest.mark.integration

MISS = "Miss from cloudfront"


FUNCTION_URL_HANDLER = """
import json


def handler(event, context):
    http = event["requestContext"]["http"]
    seen = {
        "method": http["method"],
        "path": event["rawPath"],
        "query": event.get("rawQueryString", ""),
        "host": event["headers"].get("host"),
        "signature": event["headers"].get("authorization", "").split(" ")[0],
        "content_sha256": event["headers"].get("x-amz-content-sha256"),
    }
    headers = {"Content-Type": "application/json"}
    return {"statusCode": 200, "headers": headers, "body": json.dumps(seen)}
"""


def permission(action: str) -> dict[str, Any]:
    distribution_arn = {"Fn::Sub": "arn:aws:cloudfront::${AWS::AccountId}:distribution/${Cdn}"}
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": "Catalog"},
            "Action": action,
            "Principal": "cloudfront.amazonaws.com",
            "SourceArn": distribution_arn,
        },
    }


def function_url_template(name: str) -> dict[str, Any]:
    url_domain = {"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": ["Url", "FunctionUrl"]}]}]}
    return {
        "Resources": {
            "Catalog": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": name,
                    "Runtime": "python3.11",
                    "Handler": "index.handler",
                    "Role": "arn:aws:iam::000000000000:role/lambda-role",
                    "Code": {"ZipFile": FUNCTION_URL_HANDLER},
                },
            },
            "Url": {
                "Type": "AWS::Lambda::Url",
                "Properties": {
                    "AuthType": "AWS_IAM",
                    "TargetFunctionArn": {"Fn::GetAtt": ["Catalog", "Arn"]},
                },
            },
            "UrlPermission": permission("lambda:InvokeFunctionUrl"),
            "InvokePermission": permission("lambda:InvokeFunction"),
            "Signing": {
                "Type": "AWS::CloudFront::OriginAccessControl",
                "Properties": {
                    "OriginAccessControlConfig": {
                        "Name": name,
                        "OriginAccessControlOriginType": "lambda",
                        "SigningBehavior": "always",
                        "SigningProtocol": "sigv4",
                    }
                },
            },
            "Cdn": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {
                    "DistributionConfig": {
                        "Enabled": True,
                        "Origins": [
                            {
                                "Id": "catalog",
                                "DomainName": url_domain,
                                "OriginAccessControlId": {"Fn::GetAtt": ["Signing", "Id"]},
                                "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"},
                            }
                        ],
                        "DefaultCacheBehavior": {
                            "TargetOriginId": "catalog",
                            "ViewerProtocolPolicy": "redirect-to-https",
                            "CachePolicyId": CACHING_DISABLED,
                            "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
                        },
                    }
                },
            },
        },
        "Outputs": {
            "DistributionId": {"Value": {"Ref": "Cdn"}},
            "UrlDomain": {"Value": url_domain},
        },
    }


def test_lambda_function_url_as_origin_signed_by_its_origin_access_control(
    localstack: Any, unique_name: str
) -> None:
    cloudformation = localstack.client("cloudformation")
    body = json.dumps(function_url_template(unique_name))
    stack_id = cloudformation.create_stack(StackName=unique_name, TemplateBody=body)["StackId"]
    try:
        stack = settle(cloudformation, stack_id)
        assert stack["StackStatus"] == "CREATE_COMPLETE", failures(cloudformation, stack_id)
        stack_outputs = outputs(stack)
        port = int(localstack.client("sts").meta.endpoint_url.rsplit(":", 1)[1].rstrip("/"))
        distribution_id = stack_outputs["DistributionId"].lower()
        host = f"{distribution_id}.cloudfront.localhost.localstack.cloud:{port}"
        # A viewer's own Authorization is replaced by the signature (signing behaviour always).
        viewer = {"Host": host, "Authorization": "Bearer viewer-credential"}
        url = f"http://127.0.0.1:{port}/catalog/items?sku=s-1"
        reply = httpx.get(url, headers=viewer, timeout=60)
        assert reply.status_code == 200, reply.text
        assert reply.headers["x-cache"] == MISS
        assert reply.json() == {
            "method": "GET",
            "path": "/catalog/items",
            "query": "sku=s-1",
            "host": stack_outputs["UrlDomain"],
            "signature": "AWS4-HMAC-SHA256",
            "content_sha256": hashlib.sha256(b"").hexdigest(),
        }
        # The signature covers the path as the edge sends it, escapes included.
        escaped = f"http://127.0.0.1:{port}/catalog/a%2fb%3f%2e%2e"
        encoded = httpx.get(escaped, headers=viewer, timeout=60)
        assert encoded.status_code == 200, encoded.text
        direct = httpx.get(url, headers={"Host": stack_outputs["UrlDomain"]}, timeout=60)
        assert direct.status_code == 403, direct.text
        assert direct.json() == {"Message": "Forbidden"}
    finally:
        cloudformation.delete_stack(StackName=stack_id)
        settle(cloudformation, stack_id)
