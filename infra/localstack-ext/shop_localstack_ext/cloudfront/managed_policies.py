"""CloudFront's managed cache and origin request policies, in the shape the API answers them.

Templates reference these by id (they exist in every AWS account); the control plane lists and
reads them, and the edge applies them.
"""

from __future__ import annotations

from typing import Any

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_OPTIMIZED_FOR_UNCOMPRESSED_OBJECTS = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"
CORS_CUSTOM_ORIGIN = "59781a5b-3903-41f3-afcb-af62929ccde1"

ONE_DAY = 86_400
ONE_YEAR = 31_536_000


def _cache_policy(
    name: str, comment: str, ttls: tuple[int, int, int], compressed: bool
) -> dict[str, Any]:
    min_ttl, default_ttl, max_ttl = ttls
    return {
        "Comment": comment,
        "Name": name,
        "MinTTL": min_ttl,
        "DefaultTTL": default_ttl,
        "MaxTTL": max_ttl,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": compressed,
            "EnableAcceptEncodingBrotli": compressed,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        },
    }


def _origin_request_policy(
    name: str, comment: str, headers: tuple[str, list[str]], everything_else: str
) -> dict[str, Any]:
    header_behavior, header_names = headers
    headers_config: dict[str, Any] = {"HeaderBehavior": header_behavior}
    if header_names:
        headers_config["Headers"] = {"Quantity": len(header_names), "Items": header_names}
    return {
        "Comment": comment,
        "Name": name,
        "HeadersConfig": headers_config,
        "CookiesConfig": {"CookieBehavior": everything_else},
        "QueryStringsConfig": {"QueryStringBehavior": everything_else},
    }


MANAGED_CACHE_POLICIES: dict[str, dict[str, Any]] = {
    CACHING_OPTIMIZED: _cache_policy(
        "Managed-CachingOptimized",
        "Policy with caching enabled. Supports Gzip and Brotli compression.",
        (1, ONE_DAY, ONE_YEAR),
        compressed=True,
    ),
    CACHING_OPTIMIZED_FOR_UNCOMPRESSED_OBJECTS: _cache_policy(
        "Managed-CachingOptimizedForUncompressedObjects",
        "Default policy when compression is disabled",
        (1, ONE_DAY, ONE_YEAR),
        compressed=False,
    ),
    CACHING_DISABLED: _cache_policy(
        "Managed-CachingDisabled", "Policy with caching disabled", (0, 0, 0), compressed=False
    ),
}

MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, dict[str, Any]] = {
    ALL_VIEWER: _origin_request_policy(
        "Managed-AllViewer",
        "Policy to forward all parameters in viewer requests",
        ("allViewer", []),
        "all",
    ),
    ALL_VIEWER_EXCEPT_HOST_HEADER: _origin_request_policy(
        "Managed-AllViewerExceptHostHeader",
        "Policy to forward all parameters in viewer requests except for the Host header",
        ("allExcept", ["host"]),
        "all",
    ),
    CORS_S3_ORIGIN: _origin_request_policy(
        "Managed-CORS-S3Origin",
        "Policy for origin request to enable CORS on S3 origins",
        (
            "whitelist",
            ["origin", "access-control-request-headers", "access-control-request-method"],
        ),
        "none",
    ),
    CORS_CUSTOM_ORIGIN: _origin_request_policy(
        "Managed-CORS-CustomOrigin",
        "Policy for origin request to enable CORS on custom origins",
        ("whitelist", ["origin"]),
        "none",
    ),
}
