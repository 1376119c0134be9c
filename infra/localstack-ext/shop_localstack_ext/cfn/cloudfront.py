"""``AWS::CloudFront::Distribution``, ``OriginAccessControl`` and ``ResponseHeadersPolicy``.

Distribution: Ref is the id; GetAtt ``Id`` and ``DomainName`` (``<random>.cloudfront.net``).
Every property of ``DistributionConfig`` the CloudFront API knows is passed on and can be
updated in place. OriginAccessControl: Ref and GetAtt ``Id``; its configuration updates in place.
ResponseHeadersPolicy: Ref and GetAtt ``Id``, GetAtt ``LastModifiedTime``; its configuration
updates in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from shop_localstack_ext.cfn.conversion import (
    distribution_config_for_api,
    response_headers_policy_config_for_api,
)

Properties = dict[str, Any]
Model = TypeVar("Model")


def done(model: Model) -> ProgressEvent[Model]:
    return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)


def schema(
    type_name: str, primary_identifier: str, read_only: list[str], create_only: list[str]
) -> dict[str, Any]:
    """What LocalStack's engine reads of a resource type's schema."""
    return {
        "typeName": type_name,
        "primaryIdentifier": [primary_identifier],
        "readOnlyProperties": read_only,
        "createOnlyProperties": create_only,
    }


def gone(error: ClientError) -> bool:
    """Whether a delete found the resource already gone (as after a failed create)."""
    code: str = error.response.get("Error", {}).get("Code", "")
    return code.startswith("NoSuch") or code == "ResourceNotFoundException"


def delete_at_its_etag(
    model: Properties, get: Callable[..., Any], delete: Callable[..., Any]
) -> ProgressEvent[Properties]:
    """Delete the resource ``model`` names with the ETag ``get`` reads; done when it is gone."""
    if not model.get("Id"):
        return done(model)
    try:
        etag = get(Id=model["Id"])["ETag"]
    except ClientError as error:
        if gone(error):
            return done(model)
        raise
    delete(Id=model["Id"], IfMatch=etag)
    return done(model)


def api_tags(tags: list[dict[str, str]] | None) -> dict[str, Any]:
    return {"Items": [{"Key": t["Key"], "Value": t["Value"]} for t in tags or []]}


class DistributionProvider(ResourceProvider[Properties]):
    TYPE = "AWS::CloudFront::Distribution"
    SCHEMA = schema(TYPE, "/properties/Id", ["/properties/Id", "/properties/DomainName"], [])

    def create(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        cloudfront = request.aws_client_factory.cloudfront
        reference = f"{request.stack_name}-{request.logical_resource_id}-{uuid.uuid4().hex[:8]}"
        config = distribution_config_for_api(model["DistributionConfig"], reference)
        if model.get("Tags"):
            created = cloudfront.create_distribution_with_tags(
                DistributionConfigWithTags={
                    "DistributionConfig": config,
                    "Tags": api_tags(model["Tags"]),
                }
            )
        else:
            created = cloudfront.create_distribution(DistributionConfig=config)
        distribution = created["Distribution"]
        model["Id"] = distribution["Id"]
        model["DomainName"] = distribution["DomainName"]
        return done(model)

    def update(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        previous = request.previous_state or {}
        cloudfront = request.aws_client_factory.cloudfront
        current = cloudfront.get_distribution_config(Id=previous["Id"])
        reference = current["DistributionConfig"]["CallerReference"]
        config = distribution_config_for_api(model["DistributionConfig"], reference)
        updated = cloudfront.update_distribution(
            Id=previous["Id"], IfMatch=current["ETag"], DistributionConfig=config
        )
        distribution = updated["Distribution"]
        if model.get("Tags") != previous.get("Tags"):
            arn = distribution["ARN"]
            old_keys = [t["Key"] for t in previous.get("Tags") or []]
            if old_keys:
                cloudfront.untag_resource(Resource=arn, TagKeys={"Items": old_keys})
            if model.get("Tags"):
                cloudfront.tag_resource(Resource=arn, Tags=api_tags(model["Tags"]))
        model["Id"] = distribution["Id"]
        model["DomainName"] = distribution["DomainName"]
        return done(model)

    def delete(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.previous_state or request.desired_state
        if not model.get("Id"):
            return done(model)
        cloudfront = request.aws_client_factory.cloudfront
        try:
            current = cloudfront.get_distribution_config(Id=model["Id"])
        except ClientError as error:
            if gone(error):
                return done(model)
            raise
        etag = current["ETag"]
        if current["DistributionConfig"]["Enabled"]:
            config = {**current["DistributionConfig"], "Enabled": False}
            etag = cloudfront.update_distribution(
                Id=model["Id"], IfMatch=etag, DistributionConfig=config
            )["ETag"]
        cloudfront.delete_distribution(Id=model["Id"], IfMatch=etag)
        return done(model)


class OriginAccessControlProvider(ResourceProvider[Properties]):
    TYPE = "AWS::CloudFront::OriginAccessControl"
    SCHEMA = schema(TYPE, "/properties/Id", ["/properties/Id"], [])

    def create(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        cloudfront = request.aws_client_factory.cloudfront
        created = cloudfront.create_origin_access_control(
            OriginAccessControlConfig=model["OriginAccessControlConfig"]
        )
        model["Id"] = created["OriginAccessControl"]["Id"]
        return done(model)

    def update(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        control_id = (request.previous_state or {})["Id"]
        cloudfront = request.aws_client_factory.cloudfront
        etag = cloudfront.get_origin_access_control(Id=control_id)["ETag"]
        cloudfront.update_origin_access_control(
            Id=control_id,
            IfMatch=etag,
            OriginAccessControlConfig=model["OriginAccessControlConfig"],
        )
        model["Id"] = control_id
        return done(model)

    def delete(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        cloudfront = request.aws_client_factory.cloudfront
        return delete_at_its_etag(
            request.previous_state or request.desired_state,
            cloudfront.get_origin_access_control,
            cloudfront.delete_origin_access_control,
        )


class ResponseHeadersPolicyProvider(ResourceProvider[Properties]):
    TYPE = "AWS::CloudFront::ResponseHeadersPolicy"
    SCHEMA = schema(TYPE, "/properties/Id", ["/properties/Id", "/properties/LastModifiedTime"], [])

    def create(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        cloudfront = request.aws_client_factory.cloudfront
        created = cloudfront.create_response_headers_policy(
            ResponseHeadersPolicyConfig=response_headers_policy_config_for_api(
                model["ResponseHeadersPolicyConfig"]
            )
        )["ResponseHeadersPolicy"]
        model["Id"] = created["Id"]
        model["LastModifiedTime"] = created["LastModifiedTime"].isoformat()
        return done(model)

    def update(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        policy_id = (request.previous_state or {})["Id"]
        cloudfront = request.aws_client_factory.cloudfront
        etag = cloudfront.get_response_headers_policy(Id=policy_id)["ETag"]
        updated = cloudfront.update_response_headers_policy(
            Id=policy_id,
            IfMatch=etag,
            ResponseHeadersPolicyConfig=response_headers_policy_config_for_api(
                model["ResponseHeadersPolicyConfig"]
            ),
        )["ResponseHeadersPolicy"]
        model["Id"] = policy_id
        model["LastModifiedTime"] = updated["LastModifiedTime"].isoformat()
        return done(model)

    def delete(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        cloudfront = request.aws_client_factory.cloudfront
        return delete_at_its_etag(
            request.previous_state or request.desired_state,
            cloudfront.get_response_headers_policy,
            cloudfront.delete_response_headers_policy,
        )
