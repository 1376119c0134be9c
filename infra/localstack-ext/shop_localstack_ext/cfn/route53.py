"""``AWS::Route53::HostedZone``: Ref and GetAtt ``Id`` are the zone id (without the
``/hostedzone/`` prefix), GetAtt ``NameServers`` its name servers. ``HostedZoneConfig.Comment``
and ``HostedZoneTags`` update in place; ``Name`` replaces the zone. Private zones (``VPCs``) and
``QueryLoggingConfig`` are refused rather than ignored."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError
from localstack.services.cloudformation.resource_provider import (
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from shop_localstack_ext.cfn.cloudfront import done, gone, schema

Properties = dict[str, Any]
UNSUPPORTED = ("VPCs", "QueryLoggingConfig")


def refuse_unsupported(model: Properties) -> None:
    present = [name for name in UNSUPPORTED if model.get(name)]
    if present:
        raise ValueError(f"AWS::Route53::HostedZone: {', '.join(present)} not supported here")


class HostedZoneProvider(ResourceProvider[Properties]):
    TYPE = "AWS::Route53::HostedZone"
    SCHEMA = schema(
        TYPE, "/properties/Id", ["/properties/Id", "/properties/NameServers"], ["/properties/Name"]
    )

    def create(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        refuse_unsupported(model)
        route53 = request.aws_client_factory.route53
        created = route53.create_hosted_zone(
            Name=model["Name"],
            CallerReference=f"{request.stack_name}-{uuid.uuid4().hex}",
            HostedZoneConfig={
                "Comment": (model.get("HostedZoneConfig") or {}).get("Comment", ""),
                "PrivateZone": False,
            },
        )
        model["Id"] = created["HostedZone"]["Id"].removeprefix("/hostedzone/")
        model["NameServers"] = created["DelegationSet"]["NameServers"]
        self.replace_tags(route53, model["Id"], [], model.get("HostedZoneTags") or [])
        return done(model)

    def update(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        refuse_unsupported(model)
        previous = request.previous_state or {}
        route53 = request.aws_client_factory.route53
        zone_id = previous["Id"]
        route53.update_hosted_zone_comment(
            Id=zone_id, Comment=(model.get("HostedZoneConfig") or {}).get("Comment", "")
        )
        old_tags = previous.get("HostedZoneTags") or []
        self.replace_tags(route53, zone_id, old_tags, model.get("HostedZoneTags") or [])
        model["Id"] = zone_id
        model["NameServers"] = route53.get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"]
        return done(model)

    def delete(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.previous_state or request.desired_state
        if not model.get("Id"):
            return done(model)
        try:
            request.aws_client_factory.route53.delete_hosted_zone(Id=model["Id"])
        except ClientError as error:
            if not gone(error):
                raise
        return done(model)

    @staticmethod
    def replace_tags(
        route53: Any, zone_id: str, old: list[dict[str, str]], new: list[dict[str, str]]
    ) -> None:
        removed = [t["Key"] for t in old if t["Key"] not in {n["Key"] for n in new}]
        if not removed and not new:
            return
        changes: dict[str, Any] = {"ResourceType": "hostedzone", "ResourceId": zone_id}
        if new:
            changes["AddTags"] = new
        if removed:
            changes["RemoveTagKeys"] = removed
        route53.change_tags_for_resource(**changes)
