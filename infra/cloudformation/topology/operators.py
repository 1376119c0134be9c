"""The operators' Parameter Store path and who may read it.

Operators are parameters under `/<stack>/operators` holding their credential's SHA-256
(`shared.operators`), added with `python -m services.orders operators add NAME`, outside the
stack (so an update never rotates them). Readers of that path: the HTTP readers that admit
operators, and on AWS whatever runs the orders service (it attaches the managed policy).
"""

from __future__ import annotations

from infra.cloudformation.topology.blocks import Json, ref, sub
from infra.cloudformation.topology.builder import TemplateBuilder

OPERATORS_PATH = sub("/${AWS::StackName}/operators")
_PARAMETERS = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"


def read_operators() -> list[Json]:
    """Statements reading the operators' parameters, and nothing else of Parameter Store."""
    return [
        {
            "Effect": "Allow",
            "Action": "ssm:GetParametersByPath",
            "Resource": sub(f"{_PARAMETERS}/${{AWS::StackName}}/operators"),
        },
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": sub(f"{_PARAMETERS}/${{AWS::StackName}}/operators/*"),
        },
    ]


def add_operators(builder: TemplateBuilder) -> None:
    builder.output("OperatorsPath", OPERATORS_PATH, "Parameter Store path of the operators")
    builder.add(
        "OrdersServiceOperatorsPolicy",
        "AWS::IAM::ManagedPolicy",
        {
            "Description": sub("${AWS::StackName} orders service: read the operators"),
            "PolicyDocument": {"Version": "2012-10-17", "Statement": read_operators()},
        },
        Condition="IsAws",
    )
    builder.output(
        "OrdersServiceOperatorsPolicyArn",
        ref("OrdersServiceOperatorsPolicy"),
        "Attach to the orders service's role on AWS: it reads the operators",
        condition="IsAws",
    )
