"""Policy checks on the distribution's web ACL: on the AWS target, with the AWS common rule set
and a rate-based rule per client IP, attached to the distribution; absent on the emulator.

The template's conditions are evaluated here as CloudFormation would, with each target's
resolved parameters (no AWS, no LocalStack)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from infra.cloudformation.profiles import resolve_parameters
from infra.cloudformation.target import DeployError, Target
from infra.cloudformation.template import AWS_ONLY_RESOURCE_TYPES, LAMBDA_SERVICES, build_template
from infra.cloudformation.topology.blocks import pascal
from infra.cloudformation.topology.firewall import COMMON_RULE_SET, WEB_ACL

TEMPLATE = build_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
NO_VALUE = {"Ref": "AWS::NoValue"}

DATABASES = {f"{pascal(name)}DatabaseUrl": "postgresql+psycopg://db/x" for name in LAMBDA_SERVICES}
TARGETS = {
    "aws": resolve_parameters(Target("shop", "us-east-1", None), "default", DATABASES, 443),
    "emulator": resolve_parameters(
        Target("shop", "us-east-1", "http://127.0.0.1:4566"), "test", {}, 8000
    ),
}


def parameter(name: str, values: Mapping[str, str]) -> Any:
    return values.get(name, TEMPLATE["Parameters"][name].get("Default"))


def holds(condition: Any, values: Mapping[str, str]) -> bool:
    """A condition (its name or its expression) with these parameter values."""
    if isinstance(condition, str):
        return holds(TEMPLATE["Conditions"][condition], values)
    (function, arguments), *_ = condition.items()
    if function == "Condition":
        return holds(arguments, values)
    if function == "Fn::Equals":
        left, right = (parameter(a["Ref"], values) if isinstance(a, dict) else a for a in arguments)
        return bool(str(left) == str(right))
    if function == "Fn::Not":
        return not holds(arguments[0], values)
    if function == "Fn::Or":
        return any(holds(argument, values) for argument in arguments)
    if function == "Fn::And":
        return all(holds(argument, values) for argument in arguments)
    raise AssertionError(f"no evaluation of {function}")


def chosen(value: Any, values: Mapping[str, str]) -> Any:
    """The branch of an `Fn::If` these parameter values choose (any other value as it is)."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, then, otherwise = value["Fn::If"]
        return then if holds(condition, values) else otherwise
    return value


def web_acl_id(target: str) -> Any:
    config = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
    return chosen(config["WebACLId"], TARGETS[target])


def test_the_aws_target_has_a_web_acl_attached_to_the_distribution() -> None:
    assert holds(RESOURCES[WEB_ACL]["Condition"], TARGETS["aws"])
    assert RESOURCES[WEB_ACL]["Type"] == "AWS::WAFv2::WebACL"
    assert RESOURCES[WEB_ACL]["Properties"]["Scope"] == "CLOUDFRONT"
    assert web_acl_id("aws") == {"Fn::GetAtt": [WEB_ACL, "Arn"]}


def test_the_emulator_target_has_no_web_acl() -> None:
    assert not holds(RESOURCES[WEB_ACL]["Condition"], TARGETS["emulator"])
    assert web_acl_id("emulator") == NO_VALUE
    assert not holds(TEMPLATE["Outputs"]["WebAclArn"]["Condition"], TARGETS["emulator"])


def test_the_web_acl_blocks_with_the_common_rule_set_and_limits_api_requests_per_ip() -> None:
    acl = RESOURCES[WEB_ACL]["Properties"]
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    common = rules["aws-common-rule-set"]
    rate = rules["api-rate-per-client-ip"]

    assert acl["DefaultAction"] == {"Allow": {}}
    assert common["Statement"]["ManagedRuleGroupStatement"] == {
        "VendorName": "AWS",
        "Name": COMMON_RULE_SET,
    }
    assert common["OverrideAction"] == {"None": {}}  # its own block actions, not count-only
    statement = rate["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == {"Ref": "EdgeRateLimit"}
    assert statement["AggregateKeyType"] == "IP"  # CloudFront sees the viewer itself
    assert statement["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == "/api/"
    response = rate["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["CustomResponseBodyKey"] in acl["CustomResponseBodies"]
    assert len({rule["Priority"] for rule in acl["Rules"]}) == len(acl["Rules"])


def test_the_web_acl_and_each_rule_publish_metrics_and_samples() -> None:
    acl = RESOURCES[WEB_ACL]["Properties"]
    configs = [acl["VisibilityConfig"], *(rule["VisibilityConfig"] for rule in acl["Rules"])]

    for config in configs:
        assert config["CloudWatchMetricsEnabled"] is True
        assert config["SampledRequestsEnabled"] is True
    assert len({config["MetricName"]["Fn::Sub"] for config in configs}) == len(configs)


def test_the_edge_rate_limit_is_a_parameter_within_what_waf_accepts() -> None:
    declared = TEMPLATE["Parameters"]["EdgeRateLimit"]
    assert declared["Type"] == "Number"
    assert declared["MinValue"] >= 10
    assert declared["MinValue"] <= declared["Default"] <= declared["MaxValue"]


@pytest.mark.parametrize("region", ["eu-west-1", "us-west-2"])
def test_the_aws_target_deploys_only_to_us_east_1(region: str) -> None:
    with pytest.raises(DeployError, match="web ACL"):
        resolve_parameters(Target("shop", region, None), "default", DATABASES, 443)


def test_the_types_the_emulator_skips_are_created_on_aws_only() -> None:
    skipped = [r for r in RESOURCES.values() if r["Type"] in AWS_ONLY_RESOURCE_TYPES]

    assert {resource["Type"] for resource in skipped} == set(AWS_ONLY_RESOURCE_TYPES)
    assert all(resource.get("Condition") == "IsAws" for resource in skipped)
