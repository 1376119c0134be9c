"""The edge's pure rules: behaviour matching, cache keys, forwarding, TTLs, invalidation, names.

The modules live in the LocalStack extension package (``infra/localstack-ext``), which is
installed in LocalStack's own virtual environment; they import nothing but the standard library,
so they are loaded here from their files.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "shop_localstack_ext"


def load(name: str) -> ModuleType:
    """Load ``shop_localstack_ext.cloudfront.<name>`` from its file."""
    qualified = f"shop_localstack_ext.cloudfront.{name}"
    spec = importlib.util.spec_from_file_location(qualified, PACKAGE / "cloudfront" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


rules = load("rules")
hostnames = load("hostnames")
policies = load("managed_policies")

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def wrapped(values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": values}


CONFIG = {
    "DefaultCacheBehavior": {"TargetOriginId": "site", "CachePolicyId": CACHING_OPTIMIZED},
    "CacheBehaviors": wrapped(
        [
            {"PathPattern": "/api/fresh/*", "TargetOriginId": "fresh"},
            {"PathPattern": "api/*", "TargetOriginId": "api"},
            {"PathPattern": "*.js?", "TargetOriginId": "scripts"},
        ]
    ),
    "CustomErrorResponses": wrapped([{"ErrorCode": 403, "ResponsePagePath": "/index.html"}]),
}


@pytest.mark.parametrize(
    ("path", "origin"),
    [
        ("/api/fresh/orders", "fresh"),
        ("/api/orders", "api"),
        ("/api", "site"),
        ("/app.jsx", "scripts"),
        ("/app.js", "site"),
        ("/API/orders", "site"),
        ("/", "site"),
    ],
)
def test_first_matching_behaviour_in_order_else_the_default(path: str, origin: str) -> None:
    assert rules.select_behaviour(CONFIG, path)["TargetOriginId"] == origin


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("/api/orders", "/api/orders"),
        ("/api/%2e%2e/index.html", "/index.html"),
        ("/api/%2E%2e/%2e%2E/%2e%2e/secret", "/secret"),
        ("/api/./orders/../x", "/api/x"),
        ("/api/orders/..", "/api/"),
        ("/..", "/"),
        ("//api//orders", "/api/orders"),
        ("/%61pi/orders", "/api/orders"),
        ("/api/..%2fadmin", "/api/..%2Fadmin"),
        ("/api/orders%3Fadmin=1", "/api/orders%3Fadmin=1"),
        ("/api/a%23b", "/api/a%23b"),
        ("/api/caf%c3%a9", "/api/caf%C3%A9"),
        ("/", "/"),
    ],
)
def test_paths_are_matched_normalised_as_rfc_3986_says(raw: str, normalised: str) -> None:
    assert rules.normalised_path(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("/api/%2e%2e/api/fresh/x", "fresh"),
        ("/api/fresh/%2e%2e/orders", "api"),
        ("/api/%2e%2e/x", "site"),
        ("/api/..%2fx", "api"),
        ("/static/..%2fapi/x", "site"),
        ("//api/orders", "api"),
        ("/api%2forders", "site"),
    ],
)
def test_an_encoded_traversal_selects_the_behaviour_of_its_normalised_path(
    raw: str, origin: str
) -> None:
    behaviour = rules.select_behaviour(CONFIG, rules.normalised_path(raw))
    assert behaviour["TargetOriginId"] == origin


def test_path_patterns_take_no_character_classes() -> None:
    assert rules.path_matches("/[a]/*", "/[a]/x")
    assert not rules.path_matches("/[a]/*", "/a/x")


def legacy_behaviour(**forwarded: Any) -> dict[str, Any]:
    return {"ForwardedValues": forwarded, "MinTTL": 0, "DefaultTTL": 5, "MaxTTL": 60}


def test_legacy_query_string_keys_select_the_key_but_all_are_forwarded() -> None:
    behaviour = legacy_behaviour(QueryString=True, QueryStringCacheKeys=wrapped(["page"]))
    policy = rules.cache_policy_of(behaviour, {})
    key_a = rules.cache_key("D1", "/p", [("page", "1"), ("utm", "a")], {}, {}, policy.key)
    key_b = rules.cache_key("D1", "/p", [("utm", "b"), ("page", "1")], {}, {}, policy.key)
    key_c = rules.cache_key("D1", "/p", [("page", "2")], {}, {}, policy.key)
    assert key_a == key_b != key_c
    forwarded = rules.forwarded_parameters(behaviour, policy, {})
    assert rules.forwarded_query([("page", "1"), ("utm", "a")], forwarded) == [
        ("page", "1"),
        ("utm", "a"),
    ]


def test_legacy_without_query_strings_ignores_and_drops_them() -> None:
    behaviour = legacy_behaviour(QueryString=False)
    policy = rules.cache_policy_of(behaviour, {})
    assert rules.cache_key("D", "/p", [("a", "1")], {}, {}, policy.key) == rules.cache_key(
        "D", "/p", [], {}, {}, policy.key
    )
    assert (
        rules.forwarded_query([("a", "1")], rules.forwarded_parameters(behaviour, policy, {})) == []
    )


def test_legacy_headers_and_cookies_in_the_key() -> None:
    behaviour = legacy_behaviour(
        Headers=wrapped(["Accept-Language"]),
        Cookies={"Forward": "whitelist", "WhitelistedNames": wrapped(["session"])},
    )
    key = rules.cache_policy_of(behaviour, {}).key
    english = rules.cache_key("D", "/", [], {"accept-language": "en"}, {"session": "s"}, key)
    german = rules.cache_key("D", "/", [], {"accept-language": "de"}, {"session": "s"}, key)
    other_cookie = rules.cache_key(
        "D", "/", [], {"accept-language": "en"}, {"session": "s", "theme": "x"}, key
    )
    assert english != german
    assert english == other_cookie


def test_legacy_ttls_default_to_cloudfront_defaults() -> None:
    policy = rules.cache_policy_of({"ForwardedValues": {"QueryString": False}}, {})
    assert (policy.min_ttl, policy.default_ttl, policy.max_ttl) == (0, 86_400, 31_536_000)


def test_managed_policies_caching_optimized_and_disabled() -> None:
    optimized = rules.cache_policy_of(
        {"CachePolicyId": CACHING_OPTIMIZED}, policies.MANAGED_CACHE_POLICIES
    )
    disabled = rules.cache_policy_of(
        {"CachePolicyId": CACHING_DISABLED}, policies.MANAGED_CACHE_POLICIES
    )
    assert (optimized.min_ttl, optimized.default_ttl, optimized.max_ttl) == (1, 86_400, 31_536_000)
    assert rules.seconds_to_cache(disabled, "max-age=600") == 0
    with pytest.raises(LookupError):
        rules.cache_policy_of({"CachePolicyId": "nope"}, policies.MANAGED_CACHE_POLICIES)


def test_all_viewer_except_host_forwards_headers_query_and_cookies_but_not_host() -> None:
    behaviour = {
        "CachePolicyId": CACHING_DISABLED,
        "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
    }
    policy = rules.cache_policy_of(behaviour, policies.MANAGED_CACHE_POLICIES)
    forwarded = rules.forwarded_parameters(
        behaviour, policy, policies.MANAGED_ORIGIN_REQUEST_POLICIES
    )
    viewer = {"host": "shop.localhost", "x-shop": "1", "authorization": "Bearer t", "cookie": "a=1"}
    headers = rules.forwarded_headers(viewer, "GET", forwarded)
    assert headers == {"x-shop": "1", "authorization": "Bearer t"}
    assert rules.forwarded_cookies({"a": "1"}, forwarded) == {"a": "1"}
    assert rules.forwarded_query([("q", "1")], forwarded) == [("q", "1")]


def test_without_origin_request_policy_only_key_and_always_forwarded_headers_pass() -> None:
    policy = rules.cache_policy_of(
        {"CachePolicyId": CACHING_OPTIMIZED}, policies.MANAGED_CACHE_POLICIES
    )
    forwarded = rules.forwarded_parameters({"CachePolicyId": CACHING_OPTIMIZED}, policy, {})
    viewer = {"host": "h", "content-type": "application/json", "authorization": "t", "x-a": "1"}
    assert rules.forwarded_headers(viewer, "GET", forwarded) == {"content-type": "application/json"}
    assert rules.forwarded_headers(viewer, "POST", forwarded) == {
        "content-type": "application/json",
        "authorization": "t",
    }


@pytest.mark.parametrize(
    ("cache_control", "seconds"),
    [
        (None, 5),
        ("max-age=2", 2),
        ("public, max-age=600", 60),
        ("max-age=600, s-maxage=10", 10),
        ("no-store", 0),
        ("private, max-age=30", 0),
        ("no-cache", 0),
    ],
)
def test_seconds_to_cache_with_min_ttl_zero(cache_control: str | None, seconds: int) -> None:
    policy = rules.CachePolicy(min_ttl=0, default_ttl=5, max_ttl=60, key=rules.Parameters())
    assert rules.seconds_to_cache(policy, cache_control) == seconds


def test_min_ttl_keeps_even_no_store_and_short_max_age() -> None:
    policy = rules.CachePolicy(min_ttl=3, default_ttl=5, max_ttl=60, key=rules.Parameters())
    assert rules.seconds_to_cache(policy, "no-store") == 3
    assert rules.seconds_to_cache(policy, "max-age=1") == 3


@pytest.mark.parametrize(
    ("invalidation", "path", "matches"),
    [
        ("/index.html", "/index.html", True),
        ("/index.html", "/index.htm", False),
        ("/assets/*", "/assets/app.js", True),
        ("/assets/*", "/assets", False),
        ("/*", "/", True),
        ("/app*", "/apple", True),
    ],
)
def test_invalidation_paths(invalidation: str, path: str, matches: bool) -> None:
    assert rules.invalidation_matches(invalidation, path) is matches


def test_error_caching_defaults_to_ten_seconds() -> None:
    assert rules.error_caching_seconds({"ErrorCode": 404}) == 10
    assert rules.error_caching_seconds({"ErrorCode": 404, "ErrorCachingMinTTL": 0}) == 0
    assert rules.error_caching_seconds({"ErrorCode": 404, "ErrorCachingMinTTL": "30"}) == 30


def test_custom_error_response_by_status() -> None:
    assert rules.custom_error_response(CONFIG, 403)["ResponsePagePath"] == "/index.html"
    assert rules.custom_error_response(CONFIG, 404) is None


@pytest.mark.parametrize(
    ("domain", "bucket"),
    [
        ("site.s3.us-east-1.amazonaws.com", "site"),
        ("my.site.s3.amazonaws.com", "my.site"),
        ("site.s3.localhost.localstack.cloud:4566", "site"),
        ("site.s3.127.0.0.1", "site"),
        ("api.shop.example", None),
    ],
)
def test_s3_bucket_of_origin_domains(domain: str, bucket: str | None) -> None:
    assert rules.s3_bucket_of(domain) == bucket


@pytest.mark.parametrize(
    ("domain", "address"),
    [
        ("abc.lambda-url.us-east-1.localhost.localstack.cloud", ("127.0.0.1", 4566)),
        ("abc.lambda-url.us-east-1.127.0.0.1:4566", ("127.0.0.1", 4566)),
        ("127.0.0.1", ("127.0.0.1", 8000)),
        ("api.internal:9000", ("api.internal", 9000)),
    ],
)
def test_origin_address(domain: str, address: tuple[str, int]) -> None:
    assert rules.origin_address(domain, 8000, 4566, "127.0.0.1") == address


def test_host_forms_and_record_chains_reach_a_distribution() -> None:
    known = {"e123.cloudfront.net": "dist", "e123abc": "dist"}

    def direct(name: str) -> str | None:
        edge_id = hostnames.distribution_id_in_edge_host(name)
        return known.get(edge_id or name)

    zone = [
        hostnames.Record("shop.example.", "A", alias_target="E123.cloudfront.net."),
        hostnames.Record("www.example.", "CNAME", values=("shop.example",)),
        hostnames.Record(
            "edge.example.", "CNAME", values=("e123abc.cloudfront.localhost.localstack.cloud",)
        ),
        hostnames.Record("mail.example.", "MX", values=("10 mx.example",)),
        hostnames.Record("loop.example.", "CNAME", values=("loop.example",)),
    ]
    calls: list[int] = []

    def listing() -> list[Any]:
        calls.append(1)
        return zone

    resolve = hostnames.resolve
    assert resolve("E123ABC.cloudfront.localhost.localstack.cloud:4566", direct, listing) == "dist"
    assert calls == []
    assert resolve("shop.example:4566", direct, listing) == "dist"
    assert resolve("WWW.example.", direct, listing) == "dist"
    assert resolve("edge.example", direct, listing) == "dist"
    assert resolve("mail.example", direct, listing) is None
    assert resolve("loop.example", direct, listing) is None
    assert resolve("unknown.example", direct, listing) is None
    calls.clear()
    assert resolve("127.0.0.1:4566", direct, listing) is None
    assert resolve("[::1]:4566", direct, listing) is None
    assert calls == []


SECURITY_HEADERS = {
    "StrictTransportSecurity": {
        "Override": True,
        "AccessControlMaxAgeSec": 63_072_000,
        "IncludeSubdomains": True,
        "Preload": False,
    },
    "ContentTypeOptions": {"Override": True},
    "FrameOptions": {"Override": False, "FrameOption": "DENY"},
    "ReferrerPolicy": {"Override": True, "ReferrerPolicy": "no-referrer"},
    "ContentSecurityPolicy": {
        "Override": True,
        "ContentSecurityPolicy": "default-src 'self'; frame-ancestors 'none'",
    },
    "XSSProtection": {"Override": True, "Protection": True, "ModeBlock": True},
}


def test_a_response_headers_policy_adds_its_security_headers() -> None:
    policy = {"Name": "p", "SecurityHeadersConfig": SECURITY_HEADERS}
    headers = dict(rules.with_response_headers([("Content-Type", "text/html")], policy))
    assert headers == {
        "Content-Type": "text/html",
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
        "X-XSS-Protection": "1; mode=block",
    }


def test_override_replaces_the_origins_header_and_its_absence_keeps_it() -> None:
    policy = {"Name": "p", "SecurityHeadersConfig": SECURITY_HEADERS}
    origin = [("x-frame-options", "SAMEORIGIN"), ("referrer-policy", "unsafe-url")]
    headers = rules.with_response_headers(origin, policy)
    assert ("x-frame-options", "SAMEORIGIN") in headers
    assert ("Referrer-Policy", "no-referrer") in headers
    assert [name.lower() for name, _ in headers].count("referrer-policy") == 1


def test_custom_and_removed_headers_of_a_policy() -> None:
    policy = {
        "Name": "p",
        "CustomHeadersConfig": wrapped(
            [
                {"Header": "X-Shop", "Value": "1", "Override": False},
                {"Header": "Cache-Control", "Value": "no-store", "Override": True},
            ]
        ),
        "RemoveHeadersConfig": wrapped([{"Header": "server"}]),
    }
    origin = [("Server", "uvicorn"), ("x-shop", "origin"), ("cache-control", "max-age=60")]
    assert rules.with_response_headers(origin, policy) == [
        ("x-shop", "origin"),
        ("Cache-Control", "no-store"),
    ]


def test_no_policy_keeps_the_headers_and_cors_is_not_served() -> None:
    assert rules.with_response_headers([("A", "1")], None) == [("A", "1")]
    behaviour = {"ResponseHeadersPolicyId": "p-1"}
    with pytest.raises(LookupError):
        rules.response_headers_policy_of(behaviour, {})
    cors = {"Name": "p", "CorsConfig": {"OriginOverride": True}}
    with pytest.raises(LookupError):
        rules.with_response_headers([], rules.response_headers_policy_of(behaviour, {"p-1": cors}))
