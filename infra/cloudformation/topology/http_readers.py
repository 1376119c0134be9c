"""The HTTP readers: Lambdas behind function URLs, each a CloudFront origin for one path pattern."""

from __future__ import annotations

from dataclasses import dataclass

from infra.cloudformation.topology.blocks import DISTRIBUTION_ARN, get_att, pascal, ref
from infra.cloudformation.topology.builder import TemplateBuilder
from infra.cloudformation.topology.operators import OPERATORS_PATH, read_operators


@dataclass(frozen=True)
class HttpReader:
    """A Lambda behind a function URL, a CloudFront origin for one path pattern (GET only: a
    signed origin request carries no body unless the viewer hashed it); `operators`: for
    operators only (it reads their credentials' digests)."""

    name: str
    service: str
    handler: str
    path_pattern: str
    operators: bool = False


HTTP_READERS = [
    HttpReader(
        "inventory-catalogue", "inventory", "services.inventory.http.handler", "/api/catalogue*"
    ),
    HttpReader(
        "analytics-dashboard",
        "analytics",
        "services.analytics.http.handler",
        "/api/analytics*",
        operators=True,
    ),
]


def add_http_reader(builder: TemplateBuilder, reader: HttpReader) -> None:
    """The function and its URL, which only the distribution may call: the URL takes signed
    requests only (``AWS_IAM``) and the function's policy admits CloudFront on behalf of this
    stack's distribution (its origin access control signs each origin request). Since October
    2025 a function URL needs both actions granted, ``lambda:InvokeFunctionUrl`` and
    ``lambda:InvokeFunction`` (through the URL only)."""
    prefix = pascal(reader.name)
    function = builder.function(
        prefix,
        reader.name,
        reader.service,
        reader.handler,
        read_operators() if reader.operators else [],
        {"OPERATORS_PATH": OPERATORS_PATH} if reader.operators else None,
    )
    builder.add(
        f"{prefix}Url",
        "AWS::Lambda::Url",
        {"TargetFunctionArn": get_att(function, "Arn"), "AuthType": "AWS_IAM"},
    )
    by_the_distribution = {"Principal": "cloudfront.amazonaws.com", "SourceArn": DISTRIBUTION_ARN}
    builder.add(
        f"{prefix}UrlPermission",
        "AWS::Lambda::Permission",
        {
            "FunctionName": ref(function),
            "Action": "lambda:InvokeFunctionUrl",
            **by_the_distribution,
        },
    )
    builder.add(
        f"{prefix}UrlInvokePermission",
        "AWS::Lambda::Permission",
        {
            "FunctionName": ref(function),
            "Action": "lambda:InvokeFunction",
            "InvokedViaFunctionUrl": True,
            **by_the_distribution,
        },
    )
    builder.output(
        f"{prefix}FunctionUrl", get_att(f"{prefix}Url", "FunctionUrl"), f"URL of {reader.name}"
    )
