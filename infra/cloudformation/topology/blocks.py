"""Intrinsic functions and logical-id names: the vocabulary of every other topology module."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"Ref": name}


def get_att(name: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def if_messaging_key(value: Any, otherwise: Any = None) -> Json:
    """`value` when the stack has its own KMS key, else `otherwise` (default: no value)."""
    return {"Fn::If": ["UseMessagingKey", value, otherwise or ref("AWS::NoValue")]}


def pascal(name: str) -> str:
    """`inventory-catalogue` -> `InventoryCatalogue` (logical ids)."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


# The shop's CloudFront distribution (`site.py`): the one caller its private origins admit.
DISTRIBUTION_ARN = sub(
    "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
)
