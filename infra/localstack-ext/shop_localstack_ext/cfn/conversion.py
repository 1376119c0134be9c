"""CloudFormation's CloudFront properties (``AWS::CloudFront::Distribution``'s
``DistributionConfig``, ``AWS::CloudFront::ResponseHeadersPolicy``'s
``ResponseHeadersPolicyConfig``) in the CloudFront API's shape.

The two differ in a regular way, so the conversion walks the API's shape: CloudFormation writes
lists where the API wants ``{"Quantity", "Items"}``, a handful of members have other names, and
``CachedMethods`` sits beside ``AllowedMethods`` instead of inside it. A property the API has no
place for is an error, so nothing in a template is silently dropped.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, Shape, StructureShape
from localstack.aws.spec import load_service

# Defaults CloudFormation applies where the API requires a member.
DEFAULTS: dict[str, dict[str, Any]] = {
    "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443},
    "ForwardedValues": {"Cookies": {"Forward": "none"}},
    "S3OriginConfig": {"OriginAccessIdentity": ""},
    "LoggingConfig": {"Enabled": True, "IncludeCookies": False, "Prefix": ""},
}
RENAMED = {
    "OriginCustomHeaders": "CustomHeaders",
    "OriginSSLProtocols": "OriginSslProtocols",
    "IPV6Enabled": "IsIPV6Enabled",
    "AcmCertificateArn": "ACMCertificateArn",
    "IamCertificateId": "IAMCertificateId",
    "Locations": "Items",
}


def is_list_wrapper(shape: StructureShape) -> bool:
    return {"Quantity", "Items"} <= set(shape.members)


def nest_cached_methods(behaviour: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's sibling ``CachedMethods`` moved inside ``AllowedMethods``."""
    nested = {k: v for k, v in behaviour.items() if k != "CachedMethods"}
    allowed = behaviour.get("AllowedMethods") or ["GET", "HEAD"]
    nested["AllowedMethods"] = {
        "Items": allowed,
        "CachedMethods": {"Items": behaviour.get("CachedMethods") or ["GET", "HEAD"]},
    }
    return nested


def to_api_shape(value: Any, shape: Shape, where: str) -> Any:
    if isinstance(shape, ListShape):
        return [to_api_shape(v, shape.member, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(shape, StructureShape):
        return value
    if is_list_wrapper(shape):
        value = {"Items": value} if isinstance(value, list) else value
    if shape.name in {"DefaultCacheBehavior", "CacheBehavior"}:
        value = nest_cached_methods(value)
    value = {**DEFAULTS.get(shape.name, {}), **value}
    converted: dict[str, Any] = {}
    for name, member_value in value.items():
        api_name = RENAMED.get(name, name)
        if api_name not in shape.members:
            raise ValueError(f"{where}.{name} is not supported")
        converted[api_name] = to_api_shape(member_value, shape.members[api_name], f"{where}.{name}")
    if is_list_wrapper(shape):
        converted["Quantity"] = len(converted.get("Items", []))
        if "Enabled" in shape.members:
            converted.setdefault("Enabled", converted["Quantity"] > 0)
    return converted


def distribution_config_for_api(
    properties: dict[str, Any], caller_reference: str
) -> dict[str, Any]:
    """The API's ``DistributionConfig`` for a template's ``DistributionConfig`` property."""
    shape = load_service("cloudfront").shape_for("DistributionConfig")
    config: dict[str, Any] = to_api_shape(properties, shape, "DistributionConfig")
    config.setdefault("Comment", "")
    config["CallerReference"] = caller_reference
    return config


def response_headers_policy_config_for_api(properties: dict[str, Any]) -> dict[str, Any]:
    """The API's ``ResponseHeadersPolicyConfig`` for a template's property of that name."""
    shape = load_service("cloudfront").shape_for("ResponseHeadersPolicyConfig")
    config: dict[str, Any] = to_api_shape(properties, shape, "ResponseHeadersPolicyConfig")
    return config
