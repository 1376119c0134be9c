"""``AWS::Events::Archive``: Ref is the archive name, GetAtt ``Arn``. ``Description``,
``EventPattern`` and ``RetentionDays`` update in place; ``ArchiveName`` and ``SourceArn``
replace it. Without ``ArchiveName`` a name is made from the logical id."""

from __future__ import annotations

import json
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
MAX_NAME = 48


def archive_settings(model: Properties) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "Description": model.get("Description", ""),
        "RetentionDays": int(model.get("RetentionDays") or 0),
    }
    if model.get("EventPattern"):
        pattern = model["EventPattern"]
        settings["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return settings


class ArchiveProvider(ResourceProvider[Properties]):
    TYPE = "AWS::Events::Archive"
    SCHEMA = schema(
        TYPE,
        "/properties/ArchiveName",
        ["/properties/Arn"],
        ["/properties/ArchiveName", "/properties/SourceArn"],
    )

    def create(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        if not model.get("ArchiveName"):
            suffix = uuid.uuid4().hex[:8]
            model["ArchiveName"] = f"{request.logical_resource_id[: MAX_NAME - 9]}-{suffix}"
        created = request.aws_client_factory.events.create_archive(
            ArchiveName=model["ArchiveName"],
            EventSourceArn=model["SourceArn"],
            **archive_settings(model),
        )
        model["Arn"] = created["ArchiveArn"]
        return done(model)

    def update(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        previous = request.previous_state or {}
        updated = request.aws_client_factory.events.update_archive(
            ArchiveName=previous["ArchiveName"], **archive_settings(model)
        )
        model["ArchiveName"] = previous["ArchiveName"]
        model["Arn"] = updated["ArchiveArn"]
        return done(model)

    def delete(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.previous_state or request.desired_state
        if not model.get("Arn"):
            return done(model)
        try:
            request.aws_client_factory.events.delete_archive(ArchiveName=model["ArchiveName"])
        except ClientError as error:
            if not gone(error):
                raise
        return done(model)
