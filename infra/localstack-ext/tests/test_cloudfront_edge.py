"""The CloudFront edge in the host LocalStack serves a CloudFormation-deployed distribution.

One stack per test: a private bucket behind an origin access control (default behaviour,
CachingOptimized, SPA fallback), a tiny HTTP server of the test as custom origin (``/api/*`` with
legacy TTLs and a query string key, ``/api/fresh/*`` with CachingDisabled and
AllViewerExceptHostHeader), a response headers policy on the default and ``/api/fresh/*``
behaviours, and a hosted zone whose alias record points at the distribution.
Python cannot resolve these names, so requests go to 127.0.0.1 with a ``Host`` header.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from infra.cloudformation.topology.site import (
    ALL_METHODS,
    ALL_VIEWER_EXCEPT_HOST_HEADER,
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    CLOUDFRONT_ALIAS_ZONE_ID,
)
from shared.tests.cloudformation import failures, outputs, settle

pytestmark = pytest.mark.integration

API_DEFAULT_TTL = 2
ERROR_CACHING_SECONDS = 60
MISS, HIT, ERROR = "Miss from cloudfront", "Hit from cloudfront", "Error from cloudfront"
INDEX = b"<html>shop v1</html>"
CSP = "default-src 'self'; frame-ancestors 'none'"
POLICY_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": CSP,
}


@dataclass
class Origin:
    """An HTTP server standing in for the orders API; it records what reaches it."""

    port: int
    seen: list[dict[str, Any]] = field(default_factory=list)

    def count(self, path: str) -> int:
        return sum(1 for request in self.seen if request["path"] == path)


def origin_handler(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            origin.seen.append(
                {
                    "method": self.command,
                    "path": parts.path,
                    "query": parts.query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode(),
                }
            )
            reply = json.dumps({"path": parts.path, "n": origin.count(parts.path)}).encode()
            if parts.path.endswith("/cut-short"):
                self.answer_cut_short(reply)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if parts.path.endswith("/no-store"):
                self.send_header("Cache-Control", "no-store")
            if parts.path.endswith("/max-age-1"):
                self.send_header("Cache-Control", "max-age=1")
            if parts.path.endswith("/framed"):
                self.send_header("X-Frame-Options", "SAMEORIGIN")
                self.send_header("Referrer-Policy", "unsafe-url")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def answer_cut_short(self, reply: bytes) -> None:
            """Promise more than is sent, then close: the origin failing mid-answer."""
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply) + 100))
            self.end_headers()
            self.wfile.write(reply)
            self.wfile.flush()
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Origin(port=server.server_address[1])
    server.RequestHandlerClass = origin_handler(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def api_behaviour(pattern: str, **settings: Any) -> dict[str, Any]:
    return {
        "PathPattern": pattern,
        "TargetOriginId": "api",
        "ViewerProtocolPolicy": "allow-all",
        **settings,
    }


def headers_policy(name: str) -> dict[str, Any]:
    """Security headers; the frame and referrer headers leave an origin's own in place."""
    return {
        "Name": name,
        "SecurityHeadersConfig": {
            "StrictTransportSecurity": {
                "AccessControlMaxAgeSec": 31_536_000,
                "IncludeSubdomains": True,
                "Override": True,
            },
            "ContentTypeOptions": {"Override": True},
            "FrameOptions": {"FrameOption": "DENY", "Override": False},
            "ReferrerPolicy": {
                "ReferrerPolicy": "strict-origin-when-cross-origin",
                "Override": False,
            },
            "ContentSecurityPolicy": {"ContentSecurityPolicy": CSP, "Override": True},
        },
    }


def template(name: str, origin_port: int) -> dict[str, Any]:
    distribution_config = {
        "Enabled": True,
        "Comment": name,
        "DefaultRootObject": "index.html",
        "Origins": [
            {
                "Id": "site",
                "DomainName": {"Fn::GetAtt": ["Site", "RegionalDomainName"]},
                "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": {"Fn::GetAtt": ["SiteAccess", "Id"]},
            },
            {
                "Id": "api",
                "DomainName": "127.0.0.1",
                "CustomOriginConfig": {
                    "HTTPPort": origin_port,
                    "OriginProtocolPolicy": "http-only",
                },
            },
        ],
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED,
            "ResponseHeadersPolicyId": {"Ref": "Headers"},
        },
        "CacheBehaviors": [
            api_behaviour(
                "/api/fresh/*",
                CachePolicyId=CACHING_DISABLED,
                OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST_HEADER,
                ResponseHeadersPolicyId={"Ref": "Headers"},
                AllowedMethods=ALL_METHODS,
            ),
            api_behaviour(
                "/api/*",
                ForwardedValues={"QueryString": True, "QueryStringCacheKeys": ["page"]},
                MinTTL=0,
                DefaultTTL=API_DEFAULT_TTL,
                MaxTTL=30,
            ),
        ],
        "CustomErrorResponses": [
            {
                "ErrorCode": code,
                "ResponseCode": 200,
                "ResponsePagePath": "/index.html",
                "ErrorCachingMinTTL": ERROR_CACHING_SECONDS,
            }
            for code in (403, 404)
        ],
    }
    return {
        "Resources": {
            "Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"{name}-site"}},
            "SiteAccess": {
                "Type": "AWS::CloudFront::OriginAccessControl",
                "Properties": {
                    "OriginAccessControlConfig": {
                        "Name": name,
                        "OriginAccessControlOriginType": "s3",
                        "SigningBehavior": "always",
                        "SigningProtocol": "sigv4",
                    }
                },
            },
            "Headers": {
                "Type": "AWS::CloudFront::ResponseHeadersPolicy",
                "Properties": {"ResponseHeadersPolicyConfig": headers_policy(name)},
            },
            "Cdn": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {"DistributionConfig": distribution_config},
            },
            "Zone": {
                "Type": "AWS::Route53::HostedZone",
                "Properties": {"Name": f"{name}.localhost"},
            },
            "Shop": {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneId": {"Ref": "Zone"},
                    "Name": f"shop.{name}.localhost",
                    "Type": "A",
                    "AliasTarget": {
                        "DNSName": {"Fn::GetAtt": ["Cdn", "DomainName"]},
                        "HostedZoneId": CLOUDFRONT_ALIAS_ZONE_ID,
                    },
                },
            },
        },
        "Outputs": {
            "DistributionId": {"Value": {"Ref": "Cdn"}},
            "DomainName": {"Value": {"Fn::GetAtt": ["Cdn", "DomainName"]}},
            "ZoneId": {"Value": {"Ref": "Zone"}},
            "Bucket": {"Value": {"Ref": "Site"}},
        },
    }


@dataclass
class Shop:
    """The deployed stack, and a client that reaches the LocalStack gateway."""

    distribution_id: str
    domain_name: str
    zone_id: str
    bucket: str
    zone: str
    port: int
    s3: Any
    cloudfront: Any
    route53: Any

    @property
    def edge_host(self) -> str:
        return f"{self.distribution_id.lower()}.cloudfront.localhost.localstack.cloud:{self.port}"

    @property
    def alias_host(self) -> str:
        return f"shop.{self.zone}:{self.port}"

    def request(self, host: str, path: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"Host": host, **kwargs.pop("headers", {})}
        return httpx.request(method, url, headers=headers, timeout=30, **kwargs)

    def put(self, key: str, body: bytes, content_type: str = "text/html") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)


@pytest.fixture
def shop(localstack: Any, unique_name: str, origin: Origin) -> Iterator[Shop]:
    cloudformation = localstack.client("cloudformation")
    s3 = localstack.client("s3")
    body = json.dumps(template(unique_name, origin.port))
    stack_id = cloudformation.create_stack(StackName=unique_name, TemplateBody=body)["StackId"]
    try:
        stack = settle(cloudformation, stack_id)
        assert stack["StackStatus"] == "CREATE_COMPLETE", failures(cloudformation, stack_id)
        stack_outputs = outputs(stack)
        endpoint = localstack.client("sts").meta.endpoint_url
        shop = Shop(
            distribution_id=stack_outputs["DistributionId"],
            domain_name=stack_outputs["DomainName"],
            zone_id=stack_outputs["ZoneId"],
            bucket=stack_outputs["Bucket"],
            zone=f"{unique_name}.localhost",
            port=int(endpoint.rsplit(":", 1)[1].rstrip("/")),
            s3=s3,
            cloudfront=localstack.client("cloudfront"),
            route53=localstack.client("route53"),
        )
        shop.put("index.html", INDEX)
        shop.put("assets/app.js", b"console.log('shop')", "text/javascript")
        yield shop
    finally:
        empty_bucket(s3, f"{unique_name}-site")
        cloudformation.delete_stack(StackName=stack_id)
        deleted = settle(cloudformation, stack_id)
        reasons = failures(cloudformation, stack_id)
        assert deleted["StackStatus"] == "DELETE_COMPLETE", reasons


def empty_bucket(s3: Any, bucket: str) -> None:
    """Delete the test's objects so that the stack can delete the bucket."""
    if bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])


def host_forms(shop: Shop) -> dict[str, str]:
    return {"edge": shop.edge_host, "route53": shop.alias_host}


@pytest.mark.parametrize("form", ["edge", "route53"])
def test_s3_origin_miss_then_hit_with_default_root_object(shop: Shop, form: str) -> None:
    host = host_forms(shop)[form]
    first = shop.request(host, "/")
    second = shop.request(host, "/")
    asset = shop.request(host, "/assets/app.js")
    assert (first.status_code, first.content, first.headers["x-cache"]) == (200, INDEX, MISS)
    assert (second.status_code, second.content, second.headers["x-cache"]) == (200, INDEX, HIT)
    assert int(second.headers["age"]) >= 0
    assert asset.content == b"console.log('shop')"
    assert asset.headers["content-type"].startswith("text/javascript")
    head = shop.request(host, "/assets/app.js", method="HEAD")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(asset.content))


def test_distribution_domain_name_is_served_too(shop: Shop) -> None:
    assert shop.domain_name.endswith(".cloudfront.net")
    reply = shop.request(f"{shop.domain_name}:{shop.port}", "/index.html")
    assert (reply.status_code, reply.content) == (200, INDEX)


def test_single_page_app_fallback_for_missing_objects(shop: Shop) -> None:
    reply = shop.request(shop.edge_host, "/orders/o-123")
    assert (reply.status_code, reply.content) == (200, INDEX)
    assert reply.headers["x-cache"] == ERROR


def test_error_responses_are_cached_for_error_caching_min_ttl(shop: Shop) -> None:
    assert shop.request(shop.edge_host, "/late.html").content == INDEX
    shop.put("late.html", b"<html>late</html>")
    cached = shop.request(shop.edge_host, "/late.html")
    assert (cached.content, cached.headers["x-cache"]) == (INDEX, ERROR)
    assert "age" in cached.headers
    shop.cloudfront.create_invalidation(
        DistributionId=shop.distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/late.html"]},
            "CallerReference": f"{shop.bucket}-late",
        },
    )
    fresh = shop.request(shop.edge_host, "/late.html")
    assert (fresh.content, fresh.headers["x-cache"]) == (b"<html>late</html>", MISS)


@pytest.mark.parametrize("form", ["edge", "route53"])
def test_custom_origin_cached_for_the_default_ttl_then_expires(
    shop: Shop, origin: Origin, form: str
) -> None:
    host = host_forms(shop)[form]
    path = f"/api/ttl-{form}"
    caches = [shop.request(host, path).headers["x-cache"] for _ in range(2)]
    assert caches == [MISS, HIT]
    assert origin.count(path) == 1
    began = time.monotonic()
    deadline = began + API_DEFAULT_TTL + 5
    while shop.request(host, path).headers["x-cache"] == HIT:
        assert time.monotonic() < deadline, "the entry outlived its TTL"
        time.sleep(0.2)
    assert time.monotonic() - began >= API_DEFAULT_TTL - 1
    assert origin.count(path) == 2


def test_max_age_of_the_origin_shortens_the_ttl(shop: Shop, origin: Origin) -> None:
    path = "/api/max-age-1"
    assert shop.request(shop.edge_host, path).headers["x-cache"] == MISS
    deadline = time.monotonic() + API_DEFAULT_TTL
    while shop.request(shop.edge_host, path).headers["x-cache"] == HIT:
        assert time.monotonic() < deadline, "max-age=1 was not honoured"
        time.sleep(0.1)
    assert origin.count(path) == 2


def test_no_store_is_never_cached(shop: Shop, origin: Origin) -> None:
    caches = [shop.request(shop.edge_host, "/api/no-store").headers["x-cache"] for _ in range(3)]
    assert caches == [MISS, MISS, MISS]
    assert origin.count("/api/no-store") == 3


def test_query_strings_in_the_key_as_the_behaviour_names_them(shop: Shop, origin: Origin) -> None:
    first = shop.request(shop.edge_host, "/api/items?page=1&utm=a")
    other_utm = shop.request(shop.edge_host, "/api/items?utm=b&page=1")
    other_page = shop.request(shop.edge_host, "/api/items?page=2")
    assert [r.headers["x-cache"] for r in (first, other_utm, other_page)] == [MISS, HIT, MISS]
    assert [r["query"] for r in origin.seen] == ["page=1&utm=a", "page=2"]


def test_caching_disabled_behaviour_forwards_everything_but_host(
    shop: Shop, origin: Origin
) -> None:
    replies = [
        shop.request(
            shop.alias_host,
            "/api/fresh/orders?x=1",
            method="POST",
            content=b'{"sku": "s-1"}',
            headers={"Content-Type": "application/json", "X-Shop": "yes"},
        )
        for _ in range(2)
    ]
    assert [r.headers["x-cache"] for r in replies] == [MISS, MISS]
    seen = origin.seen[-1]
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/api/fresh/orders", "x=1")
    assert seen["body"] == '{"sku": "s-1"}'
    assert seen["headers"]["x-shop"] == "yes"
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["host"] == "127.0.0.1"
    assert origin.count("/api/fresh/orders") == 2


def test_an_origin_failing_mid_answer_is_a_502_from_the_edge(shop: Shop, origin: Origin) -> None:
    failed = shop.request(shop.alias_host, "/api/fresh/cut-short", method="POST", content=b"{}")
    assert failed.status_code == 502, failed.text
    assert "could not get an answer from the origin" in failed.text
    assert origin.count("/api/fresh/cut-short") == 1
    after = shop.request(shop.alias_host, "/api/fresh/orders", method="POST", content=b"{}")
    assert (after.status_code, after.json()["path"]) == (200, "/api/fresh/orders")


def test_methods_the_behaviour_does_not_allow_are_refused(shop: Shop, origin: Origin) -> None:
    reply = shop.request(shop.edge_host, "/api/items", method="DELETE")
    assert reply.status_code == 403
    assert origin.count("/api/items") == 0


def test_invalidation_turns_the_next_request_into_a_miss(shop: Shop) -> None:
    for path in ("/index.html", "/assets/app.js"):
        shop.request(shop.edge_host, path)
        assert shop.request(shop.edge_host, path).headers["x-cache"] == HIT
    shop.put("index.html", b"<html>shop v2</html>")
    assert shop.request(shop.edge_host, "/index.html").content == INDEX
    shop.cloudfront.create_invalidation(
        DistributionId=shop.distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 2, "Items": ["/index.html", "/assets/*"]},
            "CallerReference": f"{shop.bucket}-invalidation",
        },
    )
    fresh = shop.request(shop.edge_host, "/index.html")
    assert (fresh.headers["x-cache"], fresh.content) == (MISS, b"<html>shop v2</html>")
    assert shop.request(shop.edge_host, "/assets/app.js").headers["x-cache"] == MISS


def change_record(shop: Shop, action: str, name: str, record: dict[str, Any]) -> None:
    shop.route53.change_resource_record_sets(
        HostedZoneId=shop.zone_id,
        ChangeBatch={
            "Changes": [{"Action": action, "ResourceRecordSet": {"Name": name, **record}}]
        },
    )


def test_route53_record_changes_take_effect_without_restart(shop: Shop) -> None:
    name = f"www.{shop.zone}"
    host = f"{name}:{shop.port}"
    cname: Callable[[str], dict[str, Any]] = lambda target: {  # noqa: E731
        "Type": "CNAME",
        "TTL": 60,
        "ResourceRecords": [{"Value": target}],
    }
    assert "x-cache" not in shop.request(host, "/index.html").headers
    change_record(shop, "CREATE", name, cname(shop.edge_host.split(":")[0]))
    try:
        assert shop.request(host, "/index.html").content == INDEX
        change_record(shop, "UPSERT", name, cname("elsewhere.example"))
        assert "x-cache" not in shop.request(host, "/index.html").headers
        change_record(shop, "UPSERT", name, cname(shop.domain_name))
        assert shop.request(host, "/index.html").content == INDEX
    finally:
        change_record(shop, "DELETE", name, cname(shop.domain_name))
    assert "x-cache" not in shop.request(host, "/index.html").headers


def policy_headers_of(reply: httpx.Response) -> dict[str, str]:
    return {name: reply.headers[name] for name in POLICY_HEADERS if name in reply.headers}


def test_encoded_dot_segments_select_the_behaviour_of_the_normalised_path(
    shop: Shop, origin: Origin
) -> None:
    page = shop.request(shop.edge_host, "/api/%2e%2e/index.html")
    assert (page.status_code, page.content) == (200, INDEX)
    assert origin.seen == []
    climbed = shop.request(shop.edge_host, "/api/fresh/%2E%2e/items?page=1")
    assert climbed.status_code == 200
    assert origin.seen[-1]["path"].lower() == "/api/fresh/%2e%2e/items"
    assert "content-security-policy" not in climbed.headers, "the /api/* behaviour has no policy"


def test_literal_dot_segments_are_normalised_too(shop: Shop, origin: Origin) -> None:
    """httpx removes dot segments itself, as browsers do; a raw client (curl --path-as-is)
    sends them, and the gateway hands them to the edge as sent."""
    connection = http.client.HTTPConnection("127.0.0.1", shop.port, timeout=30)
    try:
        connection.request("GET", "/api/fresh/../items", headers={"Host": shop.edge_host})
        reply = connection.getresponse()
        assert (reply.status, reply.getheader("x-cache")) == (200, MISS)
        assert reply.getheader("strict-transport-security") is None, "/api/*, not /api/fresh/*"
        reply.read()
    finally:
        connection.close()
    assert origin.seen[-1]["path"] == "/api/fresh/../items"


def test_the_origin_gets_the_path_as_the_viewer_encoded_it(shop: Shop, origin: Origin) -> None:
    for raw, query in [
        ("/api/fresh/orders%3Fadmin=1", "x=1"),
        ("/api/fresh/a%23b", ""),
        ("/api/fresh/..%2fadmin", ""),
    ]:
        reply = shop.request(shop.alias_host, f"{raw}?{query}" if query else raw)
        assert reply.status_code == 200
        seen = origin.seen[-1]
        assert (seen["path"].lower(), seen["query"]) == (raw.lower(), query)


def test_encoded_paths_have_cache_entries_of_their_own(shop: Shop, origin: Origin) -> None:
    plain = shop.request(shop.edge_host, "/api/items")
    encoded = shop.request(shop.edge_host, "/api/%69tems")
    assert [plain.headers["x-cache"], encoded.headers["x-cache"]] == [MISS, MISS]
    assert [r["path"] for r in origin.seen] == ["/api/items", "/api/%69tems"]


@pytest.mark.parametrize("path", ["/api/fresh/xff", "/api/xff"])
def test_x_forwarded_for_gets_the_viewer_address_appended(
    shop: Shop, origin: Origin, path: str
) -> None:
    shop.request(shop.edge_host, path, method="POST" if "fresh" in path else "GET")
    assert origin.seen[-1]["headers"]["x-forwarded-for"] == "127.0.0.1"
    sent = {"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}
    shop.request(shop.edge_host, f"{path}-sent", headers=sent)
    appended = "203.0.113.7, 198.51.100.2, 127.0.0.1"
    assert origin.seen[-1]["headers"]["x-forwarded-for"] == appended


def test_the_response_headers_policy_is_on_every_response_of_its_behaviours(
    shop: Shop, origin: Origin
) -> None:
    miss = shop.request(shop.alias_host, "/")
    hit = shop.request(shop.alias_host, "/")
    fallback = shop.request(shop.alias_host, "/orders/o-1")
    api = shop.request(shop.alias_host, "/api/fresh/orders", method="POST", content=b"{}")
    for reply in (miss, hit, fallback, api):
        assert policy_headers_of(reply) == POLICY_HEADERS, reply.headers
    assert [miss.headers["x-cache"], hit.headers["x-cache"]] == [MISS, HIT]
    assert "strict-transport-security" not in shop.request(shop.alias_host, "/api/x").headers


def test_a_header_the_policy_does_not_override_stays_the_origins(shop: Shop) -> None:
    framed = shop.request(shop.alias_host, "/api/fresh/framed")
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"
    assert framed.headers["referrer-policy"] == "unsafe-url"
    assert framed.headers["content-security-policy"] == CSP
