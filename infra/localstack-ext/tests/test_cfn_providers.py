"""The project's CloudFormation resource providers: create, update in place, delete.

``AWS::CloudFront::Distribution``, ``AWS::CloudFront::OriginAccessControl``,
``AWS::CloudFront::ResponseHeadersPolicy``, ``AWS::Route53::HostedZone`` and
``AWS::Events::Archive`` are deployed with
``CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0`` (the runner's setting), so a type without a provider
fails the deploy instead of vanishing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.tests.cloudformation import failures, outputs, settle

pytestmark = pytest.mark.integration


def template(name: str, comment: str, retention_days: int) -> dict[str, Any]:
    return {
        "Resources": {
            "Access": {
                "Type": "AWS::CloudFront::OriginAccessControl",
                "Properties": {
                    "OriginAccessControlConfig": {
                        "Name": name,
                        "Description": comment,
                        "OriginAccessControlOriginType": "s3",
                        "SigningBehavior": "always",
                        "SigningProtocol": "sigv4",
                    }
                },
            },
            "Headers": {
                "Type": "AWS::CloudFront::ResponseHeadersPolicy",
                "Properties": {
                    "ResponseHeadersPolicyConfig": {
                        "Name": name,
                        "Comment": comment,
                        "CustomHeadersConfig": {
                            "Items": [{"Header": "X-Shop", "Value": comment, "Override": True}]
                        },
                    }
                },
            },
            "Cdn": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {
                    "DistributionConfig": {
                        "Enabled": True,
                        "Comment": comment,
                        "Origins": [
                            {
                                "Id": "site",
                                "DomainName": f"{name}.s3.us-east-1.amazonaws.com",
                                "S3OriginConfig": {},
                                "OriginAccessControlId": {"Fn::GetAtt": ["Access", "Id"]},
                            }
                        ],
                        "DefaultCacheBehavior": {
                            "TargetOriginId": "site",
                            "ViewerProtocolPolicy": "redirect-to-https",
                            "ForwardedValues": {"QueryString": False},
                            "DefaultTTL": retention_days,
                            "ResponseHeadersPolicyId": {"Ref": "Headers"},
                        },
                    },
                    "Tags": [{"Key": "app", "Value": "shop"}],
                },
            },
            "Zone": {
                "Type": "AWS::Route53::HostedZone",
                "Properties": {"Name": f"{name}.example", "HostedZoneConfig": {"Comment": comment}},
            },
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": name}},
            "Archive": {
                "Type": "AWS::Events::Archive",
                "Properties": {
                    "ArchiveName": name,
                    "SourceArn": {"Fn::GetAtt": ["Bus", "Arn"]},
                    "Description": comment,
                    "EventPattern": {"source": ["shop.orders"]},
                    "RetentionDays": retention_days,
                },
            },
        },
        "Outputs": {
            key: {"Value": value}
            for key, value in {
                "DistributionRef": {"Ref": "Cdn"},
                "DistributionId": {"Fn::GetAtt": ["Cdn", "Id"]},
                "DomainName": {"Fn::GetAtt": ["Cdn", "DomainName"]},
                "AccessRef": {"Ref": "Access"},
                "AccessId": {"Fn::GetAtt": ["Access", "Id"]},
                "HeadersRef": {"Ref": "Headers"},
                "HeadersId": {"Fn::GetAtt": ["Headers", "Id"]},
                "ZoneRef": {"Ref": "Zone"},
                "ZoneId": {"Fn::GetAtt": ["Zone", "Id"]},
                "NameServers": {"Fn::Join": [",", {"Fn::GetAtt": ["Zone", "NameServers"]}]},
                "ArchiveRef": {"Ref": "Archive"},
                "ArchiveArn": {"Fn::GetAtt": ["Archive", "Arn"]},
            }.items()
        },
    }


def test_resources_are_created_updated_in_place_and_deleted(
    localstack: Any, unique_name: str
) -> None:
    cloudformation = localstack.client("cloudformation")
    cloudfront = localstack.client("cloudfront")
    route53 = localstack.client("route53")
    events = localstack.client("events")
    first = json.dumps(template(unique_name, "first", 1))
    stack_id = cloudformation.create_stack(StackName=unique_name, TemplateBody=first)["StackId"]
    try:
        created = settle(cloudformation, stack_id)
        assert created["StackStatus"] == "CREATE_COMPLETE", failures(cloudformation, stack_id)
        ids = outputs(created)
        assert ids["DistributionRef"] == ids["DistributionId"]
        assert ids["DomainName"].endswith(".cloudfront.net")
        assert ids["AccessRef"] == ids["AccessId"]
        assert ids["HeadersRef"] == ids["HeadersId"]
        assert ids["ZoneRef"] == ids["ZoneId"] and not ids["ZoneId"].startswith("/")
        assert ids["NameServers"].count(",") >= 1
        assert ids["ArchiveRef"] == unique_name
        assert ids["ArchiveArn"].endswith(f":archive/{unique_name}")

        distribution = cloudfront.get_distribution(Id=ids["DistributionId"])["Distribution"]
        origin = distribution["DistributionConfig"]["Origins"]["Items"][0]
        assert origin["OriginAccessControlId"] == ids["AccessId"]
        assert distribution["DistributionConfig"]["Comment"] == "first"
        behaviour = distribution["DistributionConfig"]["DefaultCacheBehavior"]
        assert behaviour["ResponseHeadersPolicyId"] == ids["HeadersId"]
        tags = cloudfront.list_tags_for_resource(Resource=distribution["ARN"])["Tags"]["Items"]
        assert tags == [{"Key": "app", "Value": "shop"}]
        archive = events.describe_archive(ArchiveName=unique_name)
        assert (archive["RetentionDays"], json.loads(archive["EventPattern"])) == (
            1,
            {"source": ["shop.orders"]},
        )

        second = json.dumps(template(unique_name, "second", 2))
        cloudformation.update_stack(StackName=stack_id, TemplateBody=second)
        updated = settle(cloudformation, stack_id)
        assert updated["StackStatus"] == "UPDATE_COMPLETE", failures(cloudformation, stack_id)
        assert outputs(updated) == ids

        config = cloudfront.get_distribution_config(Id=ids["DistributionId"])["DistributionConfig"]
        assert (config["Comment"], config["DefaultCacheBehavior"]["DefaultTTL"]) == ("second", 2)
        access = cloudfront.get_origin_access_control(Id=ids["AccessId"])["OriginAccessControl"]
        assert access["OriginAccessControlConfig"]["Description"] == "second"
        headers = cloudfront.get_response_headers_policy_config(Id=ids["HeadersId"])
        custom = headers["ResponseHeadersPolicyConfig"]["CustomHeadersConfig"]
        assert (headers["ResponseHeadersPolicyConfig"]["Comment"], custom["Quantity"]) == (
            "second",
            1,
        )
        assert custom["Items"][0]["Value"] == "second"
        zone = route53.get_hosted_zone(Id=ids["ZoneId"])["HostedZone"]
        assert zone["Config"]["Comment"] == "second"
        archive = events.describe_archive(ArchiveName=unique_name)
        assert (archive["RetentionDays"], archive["Description"]) == (2, "second")
    finally:
        cloudformation.delete_stack(StackName=stack_id)
        deleted = settle(cloudformation, stack_id)
    assert deleted["StackStatus"] == "DELETE_COMPLETE", failures(cloudformation, stack_id)
    with pytest.raises(cloudfront.exceptions.NoSuchDistribution):
        cloudfront.get_distribution(Id=ids["DistributionId"])
    with pytest.raises(cloudfront.exceptions.NoSuchOriginAccessControl):
        cloudfront.get_origin_access_control(Id=ids["AccessId"])
    with pytest.raises(cloudfront.exceptions.NoSuchResponseHeadersPolicy):
        cloudfront.get_response_headers_policy(Id=ids["HeadersId"])
    with pytest.raises(route53.exceptions.NoSuchHostedZone):
        route53.get_hosted_zone(Id=ids["ZoneId"])
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_archive(ArchiveName=unique_name)


def test_a_resource_type_without_provider_fails_the_deploy(
    localstack: Any, unique_name: str
) -> None:
    cloudformation = localstack.client("cloudformation")
    body = {
        "Resources": {
            "Policy": {
                "Type": "AWS::CloudFront::CachePolicy",
                "Properties": {"CachePolicyConfig": {"Name": unique_name}},
            }
        }
    }
    stack_id = cloudformation.create_stack(StackName=unique_name, TemplateBody=json.dumps(body))[
        "StackId"
    ]
    try:
        failed = settle(cloudformation, stack_id)
        assert failed["StackStatus"] in {"CREATE_FAILED", "ROLLBACK_COMPLETE"}
        assert "AWS::CloudFront::CachePolicy" in failed.get("StackStatusReason", "")
    finally:
        cloudformation.delete_stack(StackName=stack_id)
        settle(cloudformation, stack_id)
