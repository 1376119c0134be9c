"""The host LocalStack has a CloudFront control plane (the extension forwards it to moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.integration

S3_ORIGIN = "assets"
API_ORIGIN = "api"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@pytest.fixture
def cloudfront(localstack: Any) -> Any:
    return localstack.client("cloudfront")


@pytest.fixture
def origin_access_control(cloudfront: Any, unique_name: str) -> Iterator[dict[str, Any]]:
    reply = cloudfront.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": f"{unique_name}-oac",
            "Description": "shop assets bucket",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )
    control = reply["OriginAccessControl"]
    yield control
    # moto's CreateOriginAccessControl answers without the ETag header; read it back
    etag = cloudfront.get_origin_access_control(Id=control["Id"])["ETag"]
    cloudfront.delete_origin_access_control(Id=control["Id"], IfMatch=etag)


def behaviour(origin_id: str, cache_policy_id: str, methods: list[str]) -> dict[str, Any]:
    return {
        "TargetOriginId": origin_id,
        "ViewerProtocolPolicy": "redirect-to-https",
        "CachePolicyId": cache_policy_id,
        "AllowedMethods": {
            "Quantity": len(methods),
            "Items": methods,
            "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
        },
        "Compress": True,
    }


def distribution_config(unique_name: str, control_id: str) -> dict[str, Any]:
    return {
        "CallerReference": unique_name,
        "Comment": f"{unique_name} shop",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 2,
            "Items": [
                {
                    "Id": S3_ORIGIN,
                    "DomainName": f"{unique_name}-assets.s3.us-east-1.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": control_id,
                },
                {
                    "Id": API_ORIGIN,
                    "DomainName": "api.shop.example",
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "https-only",
                        "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                    },
                },
            ],
        },
        "DefaultCacheBehavior": behaviour(S3_ORIGIN, CACHING_OPTIMIZED, ["GET", "HEAD"]),
        "CacheBehaviors": {
            "Quantity": 1,
            "Items": [
                {
                    "PathPattern": "/api/*",
                    **behaviour(
                        API_ORIGIN,
                        CACHING_DISABLED,
                        ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                    ),
                }
            ],
        },
    }


def test_origin_access_control_is_readable(
    cloudfront: Any, origin_access_control: dict[str, Any]
) -> None:
    control_id = origin_access_control["Id"]
    fetched = cloudfront.get_origin_access_control(Id=control_id)["OriginAccessControl"]
    assert fetched["OriginAccessControlConfig"]["SigningProtocol"] == "sigv4"
    assert fetched["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    listed = cloudfront.list_origin_access_controls()["OriginAccessControlList"]
    assert control_id in {item["Id"] for item in listed.get("Items", [])}


def test_distribution_lifecycle(
    cloudfront: Any, origin_access_control: dict[str, Any], unique_name: str
) -> None:
    config = distribution_config(unique_name, origin_access_control["Id"])
    created = cloudfront.create_distribution(DistributionConfig=config)
    distribution = created["Distribution"]
    distribution_id = distribution["Id"]
    etag = created["ETag"]
    deleted = False
    try:
        assert distribution["DomainName"].endswith(".cloudfront.net")
        assert distribution["ARN"].endswith(f":distribution/{distribution_id}")
        assert created["Location"].endswith(distribution_id)

        fetched = cloudfront.get_distribution(Id=distribution_id)
        fetched_config = fetched["Distribution"]["DistributionConfig"]
        origins = {origin["Id"]: origin for origin in fetched_config["Origins"]["Items"]}
        assert set(origins) == {S3_ORIGIN, API_ORIGIN}
        assert origins[S3_ORIGIN]["DomainName"].endswith(".s3.us-east-1.amazonaws.com")
        assert origins[API_ORIGIN]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
        assert fetched_config["DefaultCacheBehavior"]["TargetOriginId"] == S3_ORIGIN
        behaviours = fetched_config["CacheBehaviors"]["Items"]
        assert [(b["PathPattern"], b["TargetOriginId"]) for b in behaviours] == [
            ("/api/*", API_ORIGIN)
        ]
        assert fetched_config["Enabled"] is True

        listed = cloudfront.list_distributions()["DistributionList"]
        assert distribution_id in {item["Id"] for item in listed.get("Items", [])}

        invalidation = cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 2, "Items": ["/index.html", "/assets/*"]},
                "CallerReference": f"{unique_name}-inv",
            },
        )["Invalidation"]
        got = cloudfront.get_invalidation(DistributionId=distribution_id, Id=invalidation["Id"])
        paths = got["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]
        assert sorted(paths) == ["/assets/*", "/index.html"]
        assert got["Invalidation"]["Status"] in {"InProgress", "COMPLETED", "Completed"}

        current = cloudfront.get_distribution_config(Id=distribution_id)
        updated_config = current["DistributionConfig"]
        updated_config["Comment"] = f"{unique_name} updated"
        updated = cloudfront.update_distribution(
            Id=distribution_id, IfMatch=current["ETag"], DistributionConfig=updated_config
        )
        assert updated["Distribution"]["DistributionConfig"]["Comment"] == f"{unique_name} updated"
        etag = updated["ETag"]

        updated_config["Enabled"] = False
        disabled = cloudfront.update_distribution(
            Id=distribution_id, IfMatch=etag, DistributionConfig=updated_config
        )
        assert disabled["Distribution"]["DistributionConfig"]["Enabled"] is False
        etag = disabled["ETag"]

        cloudfront.delete_distribution(Id=distribution_id, IfMatch=etag)
        deleted = True
        with pytest.raises(cloudfront.exceptions.NoSuchDistribution):
            cloudfront.get_distribution(Id=distribution_id)
    finally:
        if not deleted:
            cloudfront.delete_distribution(Id=distribution_id, IfMatch=etag)


ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def test_managed_policies_are_listed_and_readable(cloudfront: Any) -> None:
    listed = cloudfront.list_cache_policies(Type="managed")["CachePolicyList"]["Items"]
    names = {item["CachePolicy"]["CachePolicyConfig"]["Name"]: item for item in listed}
    assert names["Managed-CachingOptimized"]["CachePolicy"]["Id"] == CACHING_OPTIMIZED
    assert names["Managed-CachingDisabled"]["CachePolicy"]["Id"] == CACHING_DISABLED
    optimized = cloudfront.get_cache_policy(Id=CACHING_OPTIMIZED)["CachePolicy"]
    assert optimized["CachePolicyConfig"]["DefaultTTL"] == 86_400
    assert cloudfront.list_cache_policies(Type="custom")["CachePolicyList"]["Quantity"] == 0
    request_policy = cloudfront.get_origin_request_policy(Id=ALL_VIEWER_EXCEPT_HOST_HEADER)
    config = request_policy["OriginRequestPolicy"]["OriginRequestPolicyConfig"]
    assert config["Name"] == "Managed-AllViewerExceptHostHeader"
    assert config["HeadersConfig"]["HeaderBehavior"] == "allExcept"
    with pytest.raises(cloudfront.exceptions.NoSuchCachePolicy):
        cloudfront.get_cache_policy(Id="00000000-0000-0000-0000-000000000000")


def test_create_origin_access_control_answers_its_etag(
    cloudfront: Any, origin_access_control: dict[str, Any]
) -> None:
    fetched = cloudfront.get_origin_access_control(Id=origin_access_control["Id"])
    assert fetched["ETag"]


def test_distribution_keeps_its_configuration_as_sent(
    cloudfront: Any, origin_access_control: dict[str, Any], unique_name: str
) -> None:
    config = distribution_config(unique_name, origin_access_control["Id"])
    config["Origins"]["Items"][0]["DomainName"] = (
        f"{unique_name}-assets.s3.localhost.localstack.cloud"
    )
    config["CustomErrorResponses"] = {
        "Quantity": 1,
        "Items": [{"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200"}],
    }
    created = cloudfront.create_distribution(DistributionConfig=config)
    distribution_id = created["Distribution"]["Id"]
    try:
        fetched = cloudfront.get_distribution_config(Id=distribution_id)["DistributionConfig"]
        site = fetched["Origins"]["Items"][0]
        assert site["DomainName"] == f"{unique_name}-assets.s3.localhost.localstack.cloud"
        assert site["OriginAccessControlId"] == origin_access_control["Id"]
        assert fetched["CustomErrorResponses"]["Items"][0]["ResponsePagePath"] == "/index.html"
        assert fetched["CacheBehaviors"]["Items"][0]["PathPattern"] == "/api/*"
    finally:
        etag = cloudfront.get_distribution(Id=distribution_id)["ETag"]
        cloudfront.delete_distribution(Id=distribution_id, IfMatch=etag)


def test_a_distribution_naming_an_unknown_cache_policy_is_refused(
    cloudfront: Any, origin_access_control: dict[str, Any], unique_name: str
) -> None:
    config = distribution_config(unique_name, origin_access_control["Id"])
    config["DefaultCacheBehavior"]["CachePolicyId"] = "658327ea-f89e-4fab-a63d-7e88639e58f6"
    with pytest.raises(cloudfront.exceptions.NoSuchCachePolicy):
        cloudfront.create_distribution(DistributionConfig=config)


def headers_policy_config(name: str, frame_option: str = "DENY") -> dict[str, Any]:
    return {
        "Name": name,
        "Comment": "security headers",
        "SecurityHeadersConfig": {
            "FrameOptions": {"Override": True, "FrameOption": frame_option},
            "ContentTypeOptions": {"Override": True},
        },
        "CustomHeadersConfig": {
            "Quantity": 1,
            "Items": [{"Header": "X-Shop", "Value": "1", "Override": False}],
        },
    }


@pytest.fixture
def headers_policy(cloudfront: Any, unique_name: str) -> Iterator[dict[str, Any]]:
    created = cloudfront.create_response_headers_policy(
        ResponseHeadersPolicyConfig=headers_policy_config(unique_name)
    )
    yield created
    policy_id = created["ResponseHeadersPolicy"]["Id"]
    if policy_id in {
        item["ResponseHeadersPolicy"]["Id"]
        for item in cloudfront.list_response_headers_policies()["ResponseHeadersPolicyList"][
            "Items"
        ]
    }:
        etag = cloudfront.get_response_headers_policy(Id=policy_id)["ETag"]
        cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=etag)


def test_response_headers_policy_lifecycle(
    cloudfront: Any, headers_policy: dict[str, Any], unique_name: str
) -> None:
    policy_id = headers_policy["ResponseHeadersPolicy"]["Id"]
    first_etag = headers_policy["ETag"]
    fetched = cloudfront.get_response_headers_policy(Id=policy_id)
    assert fetched["ETag"] == first_etag
    config = fetched["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]
    assert config == headers_policy_config(unique_name)
    assert cloudfront.get_response_headers_policy_config(Id=policy_id)["ETag"] == first_etag
    listed = cloudfront.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]
    assert policy_id in {item["ResponseHeadersPolicy"]["Id"] for item in listed["Items"]}
    with pytest.raises(cloudfront.exceptions.ResponseHeadersPolicyAlreadyExists):
        cloudfront.create_response_headers_policy(
            ResponseHeadersPolicyConfig=headers_policy_config(unique_name)
        )
    changed = headers_policy_config(unique_name, frame_option="SAMEORIGIN")
    with pytest.raises(cloudfront.exceptions.PreconditionFailed):
        cloudfront.update_response_headers_policy(
            Id=policy_id, IfMatch="stale", ResponseHeadersPolicyConfig=changed
        )
    updated = cloudfront.update_response_headers_policy(
        Id=policy_id, IfMatch=first_etag, ResponseHeadersPolicyConfig=changed
    )
    assert updated["ETag"] != first_etag
    frame = cloudfront.get_response_headers_policy_config(Id=policy_id)[
        "ResponseHeadersPolicyConfig"
    ]["SecurityHeadersConfig"]["FrameOptions"]
    assert frame["FrameOption"] == "SAMEORIGIN"
    cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=updated["ETag"])
    with pytest.raises(cloudfront.exceptions.NoSuchResponseHeadersPolicy):
        cloudfront.get_response_headers_policy(Id=policy_id)


def test_a_response_headers_policy_in_use_stays_and_unknown_ones_are_refused(
    cloudfront: Any,
    origin_access_control: dict[str, Any],
    headers_policy: dict[str, Any],
    unique_name: str,
) -> None:
    config = distribution_config(unique_name, origin_access_control["Id"])
    config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = "00000000-0000-0000-0000-0000000"
    with pytest.raises(cloudfront.exceptions.NoSuchResponseHeadersPolicy):
        cloudfront.create_distribution(DistributionConfig=config)
    policy_id = headers_policy["ResponseHeadersPolicy"]["Id"]
    config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = policy_id
    distribution_id = cloudfront.create_distribution(DistributionConfig=config)["Distribution"][
        "Id"
    ]
    try:
        with pytest.raises(cloudfront.exceptions.ResponseHeadersPolicyInUse):
            cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=headers_policy["ETag"])
        fetched = cloudfront.get_distribution_config(Id=distribution_id)["DistributionConfig"]
        assert fetched["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == policy_id
    finally:
        etag = cloudfront.get_distribution(Id=distribution_id)["ETag"]
        cloudfront.delete_distribution(Id=distribution_id, IfMatch=etag)
