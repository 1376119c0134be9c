"""The HTTP readers: Lambdas behind function URLs, each a CloudFront origin for one path pattern."""

from __future__ import annotations

from dataclasses import dataclass

from infra.cloudformation.topology.blocks import get_att, pascal, ref
from infra.cloudformation.topology.builder import TemplateBuilder
from infra.cloudformation.topology.operators import OPERATORS_PATH, read_operators


@dataclass(frozen=True)
class HttpReader:
    """A Lambda behind a function URL, a CloudFront origin for one path pattern; `operators`:
    for operators only (it reads their credentials' digests)."""

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
    """The function, its public URL and the permission to invoke it through the URL."""
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
        {"TargetFunctionArn": get_att(function, "Arn"), "AuthType": "NONE"},
    )
    builder.add(
        f"{prefix}UrlPermission",
        "AWS::Lambda::Permission",
        {
            "FunctionName": ref(function),
            "Action": "lambda:InvokeFunctionUrl",
            "Principal": "*",
            "FunctionUrlAuthType": "NONE",
        },
    )
    builder.output(
        f"{prefix}FunctionUrl", get_att(f"{prefix}Url", "FunctionUrl"), f"URL of {reader.name}"
    )
