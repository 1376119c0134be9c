"""The distribution's web application firewall, on AWS only: a WAFv2 web ACL with the AWS managed
common rule set and a rate-based rule per client IP on `/api/*`.

A web ACL for CloudFront has the scope `CLOUDFRONT` and must be created in us-east-1, so the AWS
target deploys the stack there (`infra.cloudformation.profiles` refuses another region).
LocalStack community has no WAFv2 in CloudFormation: the emulator target creates no web ACL
(condition `IsAws`) and relies on the orders API's own per-client limits
(`services/orders/api/rate_limits.py`), which count per API process; on AWS the rate-based rule
is the limit every process shares.

A request the rate rule blocks gets 429 with a problem+json-shaped body, as the API's own 429
(WAF cannot set `Retry-After`: it prefixes custom header names with `x-amzn-waf-`). A request
the common rule set blocks gets WAF's 403, which the distribution's custom error response turns
into the single-page app: it never reaches an origin either way.
"""

from __future__ import annotations

import json

from infra.cloudformation.topology.blocks import Json, get_att, ref, sub
from infra.cloudformation.topology.builder import TemplateBuilder

WEB_ACL = "WebAcl"
WEB_ACL_TYPE = "AWS::WAFv2::WebACL"
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
RATE_WINDOW_SECONDS = 60
TOO_MANY_REQUESTS_BODY = "too-many-requests"


def web_acl_id() -> Json:
    """The distribution's `WebACLId`: the web ACL's ARN on AWS, nothing on the emulator."""
    return {"Fn::If": ["IsAws", get_att(WEB_ACL, "Arn"), ref("AWS::NoValue")]}


def _visibility(metric: str) -> Json:
    return {
        "CloudWatchMetricsEnabled": True,
        "SampledRequestsEnabled": True,
        "MetricName": sub(f"${{AWS::StackName}}-{metric}"),
    }


def add_firewall(builder: TemplateBuilder) -> None:
    too_many = {
        "type": "/api/docs#problem-too-many-requests",
        "title": "Too many requests",
        "status": 429,
        "detail": f"Too many requests from your address in {RATE_WINDOW_SECONDS} s; nothing"
        " was done. Retry in a minute.",
        "instance": None,
        "errors": [],
    }
    builder.add(
        WEB_ACL,
        WEB_ACL_TYPE,
        {
            "Name": sub("${AWS::StackName}-edge"),
            "Description": "Distribution of the shop: AWS common rule set, API rate per client IP",
            "Scope": "CLOUDFRONT",
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": _visibility("edge"),
            "CustomResponseBodies": {
                TOO_MANY_REQUESTS_BODY: {
                    "ContentType": "APPLICATION_JSON",
                    "Content": json.dumps(too_many),
                }
            },
            "Rules": [
                {
                    "Name": "aws-common-rule-set",
                    "Priority": 0,
                    "OverrideAction": {"None": {}},
                    "Statement": {
                        "ManagedRuleGroupStatement": {
                            "VendorName": "AWS",
                            "Name": COMMON_RULE_SET,
                        }
                    },
                    "VisibilityConfig": _visibility("common-rule-set"),
                },
                {
                    "Name": "api-rate-per-client-ip",
                    "Priority": 1,
                    "Action": {
                        "Block": {
                            "CustomResponse": {
                                "ResponseCode": 429,
                                "CustomResponseBodyKey": TOO_MANY_REQUESTS_BODY,
                            }
                        }
                    },
                    "Statement": {
                        "RateBasedStatement": {
                            "Limit": ref("EdgeRateLimit"),
                            "EvaluationWindowSec": RATE_WINDOW_SECONDS,
                            "AggregateKeyType": "IP",
                            "ScopeDownStatement": {
                                "ByteMatchStatement": {
                                    "FieldToMatch": {"UriPath": {}},
                                    "PositionalConstraint": "STARTS_WITH",
                                    "SearchString": "/api/",
                                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                                }
                            },
                        }
                    },
                    "VisibilityConfig": _visibility("api-rate-per-client-ip"),
                },
            ],
        },
        Condition="IsAws",
    )
    builder.output(
        "WebAclArn", get_att(WEB_ACL, "Arn"), "The distribution's web ACL", condition="IsAws"
    )
