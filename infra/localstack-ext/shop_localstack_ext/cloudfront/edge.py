"""The CloudFront data plane inside LocalStack's gateway.

Hook: an ``on_infra_start`` plugin (``localstack.hooks.on_infra_start``) inserts ``CloudFrontEdge``
into the gateway's request handler chain, right before LocalStack's CORS enforcement, so it sees
every request first. A request whose ``Host`` reaches a distribution (see ``hostnames``) is
answered here and the chain is terminated; any other request passes through untouched (S3
virtual hosts, function URLs, AWS APIs). A ROUTER rule would not do: Route 53 names are only
known at request time.

A site served by a distribution is an origin LocalStack's CORS enforcement admits, as it admits
``*.cloudfront.<its domain>`` itself: the edge forwards the browser's ``Origin`` to origins
served by the gateway (function URLs), which would otherwise refuse the request with 403.

Serving follows the distribution's configuration as recorded by the provider: cache behaviours
by path pattern in order, then the default; default root object; S3 or custom origins (requests
to a Lambda function URL signed as its origin access control says, ``origin_access``); custom
error responses; the edge cache with the behaviour's TTLs, its key, ``X-Cache`` and invalidations;
the behaviour's response headers policy on every viewer response.

Paths as CloudFront treats them: the behaviour is chosen on the normalised path
(``rules.normalised_path``); a custom origin receives the raw path, encoded as the viewer sent it
(the WSGI environment's ``RAW_URI``: werkzeug's ``request.path`` is decoded, so ``%3F`` would turn
into a query and ``%2e%2e`` into a parent segment); the cache key holds the raw path, so two
spellings the origin may tell apart never share an entry. ``X-Forwarded-For`` reaches the origin
with the viewer's address appended to any value the viewer sent.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localstack import config as localstack_config
from localstack.aws import handlers
from localstack.aws.api import RequestContext
from localstack.aws.handlers.cors import CorsEnforcer
from localstack.http import Request, Response
from localstack.runtime.current import get_current_runtime
from rolo import Response as GatewayResponse
from rolo.gateway import HandlerChain

from shop_localstack_ext.cloudfront import hostnames, origin_access, origins, rules
from shop_localstack_ext.cloudfront.cache import EDGE_CACHE, CachedResponse
from shop_localstack_ext.cloudfront.distributions import DISTRIBUTIONS, Distribution
from shop_localstack_ext.cloudfront.managed_policies import (
    MANAGED_CACHE_POLICIES,
    MANAGED_ORIGIN_REQUEST_POLICIES,
)
from shop_localstack_ext.cloudfront.response_headers_policies import RESPONSE_HEADERS_POLICIES
from shop_localstack_ext.hooks import on_infra_start

LOG = logging.getLogger(__name__)
CACHEABLE_STATUSES = frozenset({200, 203, 300, 301, 410})
HIT, MISS, ERROR = "Hit from cloudfront", "Miss from cloudfront", "Error from cloudfront"
EDGE_HEADERS = ("x-cache", "age", "via", "x-amz-cf-id", "x-amz-cf-pop")
POP = "LOCAL1-P1"


def route53_records() -> list[hostnames.Record]:
    """Every record set of every hosted zone LocalStack holds, read from its moto backends."""
    from moto.route53.models import route53_backends

    found: list[hostnames.Record] = []
    for account_backends in list(route53_backends.values()):
        for backend in list(account_backends.values()):
            for zone in list(backend.zones.values()):
                found.extend(as_record(record_set) for record_set in list(zone.rrsets))
    return found


def as_record(record_set: Any) -> hostnames.Record:
    values = tuple(v["Value"] if isinstance(v, dict) else str(v) for v in record_set.records or [])
    alias = record_set.alias_target or {}
    return hostnames.Record(
        name=record_set.name,
        type=record_set.type_ or "",
        alias_target=alias.get("DNSName") if isinstance(alias, dict) else None,
        values=values,
    )


def direct_distribution(name: str) -> Distribution | None:
    """The distribution a name denotes in one of the two direct forms."""
    distribution_id = hostnames.distribution_id_in_edge_host(name)
    if distribution_id:
        return DISTRIBUTIONS.by_id(distribution_id)
    if name.endswith(".cloudfront.net"):
        return DISTRIBUTIONS.by_domain_name(name)
    return None


def distribution_for_host(host: str) -> Distribution | None:
    if not host or not DISTRIBUTIONS.any():
        return None
    return hostnames.resolve(host, direct_distribution, route53_records)


def edge_headers(x_cache: str) -> Iterator[tuple[str, str]]:
    yield "X-Cache", x_cache
    yield "Via", f"1.1 {uuid.uuid4().hex[:16]}.cloudfront.net (CloudFront)"
    yield "X-Amz-Cf-Pop", POP
    yield "X-Amz-Cf-Id", uuid.uuid4().hex


def viewer_response(
    method: str, status: int, headers: list[tuple[str, str]], body: bytes, x_cache: str
) -> Response:
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in EDGE_HEADERS and name.lower() not in origins.HOP_BY_HOP
    ]
    payload = b"" if method == "HEAD" else body
    response = Response(payload, status=status, headers=[*kept, *edge_headers(x_cache)])
    if method == "HEAD":
        length = next((v for k, v in headers if k.lower() == "content-length"), str(len(body)))
        response.headers["Content-Length"] = length
    return response


def raw_path(request: Request) -> str:
    """The path of the request target as the viewer encoded it (an absolute-form target too)."""
    target = request.environ.get("RAW_URI") or request.path
    if not target.startswith("/"):
        target = urlsplit(target).path or "/"
    return target.split("?", 1)[0]


@dataclass(frozen=True)
class Viewer:
    """The parts of a viewer request the edge looks at (header names lower-case): the path as
    sent (``raw_path``) and normalised (``path``)."""

    method: str
    raw_path: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes
    address: str

    @classmethod
    def of(cls, request: Request) -> Viewer:
        headers = {name.lower(): value for name, value in request.headers.items()}
        jar: SimpleCookie = SimpleCookie()
        jar.load(headers.get("cookie", ""))
        sent_path = raw_path(request)
        return cls(
            method=request.method.upper(),
            raw_path=sent_path,
            path=rules.normalised_path(sent_path),
            query=parse_qsl(request.query_string.decode(), keep_blank_values=True),
            headers=headers,
            cookies={name: morsel.value for name, morsel in jar.items()},
            body=request.get_data(),
            address=request.remote_addr or "127.0.0.1",
        )


def origin_request(
    viewer: Viewer, default_root_object: str | None, forwarded: list[rules.Parameters]
) -> origins.OriginRequest:
    """What the origin receives: the root object for ``/``, else the raw path; what the policies
    forward; ``X-Forwarded-For`` with the viewer's address appended."""
    root = viewer.path == "/" and default_root_object
    path = f"/{default_root_object}" if root else viewer.raw_path
    headers = rules.forwarded_headers(viewer.headers, viewer.method, forwarded)
    cookies = rules.forwarded_cookies(viewer.cookies, forwarded)
    if cookies:
        headers["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    sent_for = viewer.headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{sent_for}, {viewer.address}" if sent_for else viewer.address
    headers.setdefault("user-agent", "Amazon CloudFront")
    return origins.OriginRequest(
        method=viewer.method,
        path=path,
        query=rules.forwarded_query(viewer.query, forwarded),
        headers=headers,
        body=viewer.body,
    )


def cached(
    distribution: Distribution,
    path: str,
    answer: origins.OriginResponse,
    seconds: int,
    error: bool,
) -> CachedResponse:
    return CachedResponse(
        distribution_id=distribution.distribution_id,
        path=path,
        status=answer.status,
        headers=answer.headers,
        body=answer.body,
        seconds=seconds,
        error=error,
    )


def seconds_to_keep(
    policy: rules.CachePolicy, fetched: origins.OriginResponse, error: rules.Config | None
) -> int:
    """How long the edge keeps an answer: ``ErrorCachingMinTTL`` for a custom error response
    (when the behaviour caches at all), the TTL rules for a cacheable status, otherwise 0."""
    if error is not None:
        return rules.error_caching_seconds(error) if policy.max_ttl > 0 else 0
    if fetched.status not in CACHEABLE_STATUSES:
        return 0
    return rules.seconds_to_cache(policy, fetched.header("Cache-Control"))


def origin_named(config: dict[str, Any], origin_id: str) -> dict[str, Any]:
    for origin in rules.items(config["Origins"]):
        if origin["Id"] == origin_id:
            return dict(origin)
    raise LookupError(f"no origin {origin_id}")


def plain(status: int, message: str) -> Response:
    response = Response(message.encode(), status=status, mimetype="text/plain")
    for name, value in edge_headers(ERROR):
        response.headers[name] = value
    return response


class CloudFrontEdge:
    """Gateway handler serving requests addressed to a distribution."""

    def __init__(self, gateway: tuple[str, int]) -> None:
        self.gateway = gateway

    def __call__(
        self,
        chain: HandlerChain[RequestContext],
        context: RequestContext,
        response: GatewayResponse,
    ) -> None:
        request = context.request
        distribution = distribution_for_host(request.headers.get("Host", ""))
        if distribution is None:
            return
        try:
            served = self.serve(distribution, request)
        except LookupError as error:
            served = plain(502, f"The distribution's configuration is not served here: {error}")
        response.update_from(served)
        chain.terminate()

    def serve(self, distribution: Distribution, request: Request) -> Response:
        config = distribution.config
        if not config.get("Enabled"):
            return plain(403, "The distribution is disabled.")
        viewer = Viewer.of(request)
        behaviour = rules.select_behaviour(config, viewer.path)
        if viewer.method not in rules.allowed_methods(behaviour):
            return plain(403, "This distribution is not configured to allow this HTTP method.")
        policy = rules.cache_policy_of(behaviour, MANAGED_CACHE_POLICIES)
        forwarded = rules.forwarded_parameters(behaviour, policy, MANAGED_ORIGIN_REQUEST_POLICIES)
        headers_policy = rules.response_headers_policy_of(
            behaviour, RESPONSE_HEADERS_POLICIES.configs()
        )
        cacheable = viewer.method in rules.cached_methods(behaviour) & {"GET", "HEAD"}
        key = rules.cache_key(
            distribution.distribution_id,
            viewer.raw_path,
            viewer.query,
            viewer.headers,
            viewer.cookies,
            policy.key,
        )
        if cacheable and (entry := EDGE_CACHE.get(key)):
            x_cache = ERROR if entry.error else HIT
            headers = rules.with_response_headers(entry.headers, headers_policy)
            hit = viewer_response(viewer.method, entry.status, headers, entry.body, x_cache)
            hit.headers["Age"] = str(entry.age())
            return hit
        sent = origin_request(viewer, config.get("DefaultRootObject"), forwarded)
        fetched = self.fetch(distribution, behaviour, sent)
        error = rules.custom_error_response(config, fetched.status)
        answer = fetched if error is None else self.error_page(distribution, fetched, error)
        seconds = seconds_to_keep(policy, fetched, error)
        if cacheable and viewer.method == "GET" and seconds > 0:
            EDGE_CACHE.put(
                key, cached(distribution, viewer.path, answer, seconds, error is not None)
            )
        x_cache = MISS if error is None else ERROR
        headers = rules.with_response_headers(answer.headers, headers_policy)
        return viewer_response(viewer.method, answer.status, headers, answer.body, x_cache)

    def fetch(
        self, distribution: Distribution, behaviour: rules.Config, request: origins.OriginRequest
    ) -> origins.OriginResponse:
        origin = origin_named(distribution.config, behaviour["TargetOriginId"])
        if "S3OriginConfig" in origin:
            return origins.fetch_from_s3(distribution.account_id, origin, request)
        sign = functools.partial(origin_access.signed, distribution, origin, request)
        return origins.fetch_from_custom(origin, request, self.gateway, sign)

    def error_page(
        self,
        distribution: Distribution,
        fetched: origins.OriginResponse,
        error: rules.Config,
    ) -> origins.OriginResponse:
        """The custom error response: the page at ``ResponsePagePath`` (fetched through the
        behaviour of that path) with ``ResponseCode``, or the origin's answer with that code."""
        status = int(error.get("ResponseCode") or fetched.status)
        page_path = error.get("ResponsePagePath")
        if not page_path:
            return origins.OriginResponse(status, fetched.headers, fetched.body)
        page_behaviour = rules.select_behaviour(distribution.config, page_path)
        page_request = origins.OriginRequest("GET", page_path, [], {}, b"")
        page = self.fetch(distribution, page_behaviour, page_request)
        return origins.OriginResponse(status, page.headers, page.body)


def gateway_address() -> tuple[str, int]:
    """LocalStack's host name as it hands it out (LOCALSTACK_HOST), and its gateway's port."""
    return localstack_config.LOCALSTACK_HOST.host, int(localstack_config.GATEWAY_LISTEN[0].port)


def admit_served_sites_as_cors_origins() -> None:
    """Let LocalStack's CORS check admit origins whose host a distribution serves."""
    admitted_by_localstack = CorsEnforcer._is_in_allowed_origins

    def is_in_allowed_origins(allowed_origins: list[str], origin: str) -> bool:
        if admitted_by_localstack(allowed_origins, origin):
            return True
        host = urlsplit(origin).netloc
        return bool(host) and distribution_for_host(host) is not None

    CorsEnforcer._is_in_allowed_origins = staticmethod(is_in_allowed_origins)  # type: ignore[method-assign]


@on_infra_start
def register_cloudfront_edge() -> None:
    """Put the edge first in the gateway's handler chain (before CORS enforcement)."""
    chain = get_current_runtime().components.gateway.request_handlers
    chain.insert(chain.index(handlers.enforce_cors), CloudFrontEdge(gateway_address()))
    admit_served_sites_as_cors_origins()
    LOG.info("CloudFront edge: <id>.cloudfront.localhost.localstack.cloud and Route 53 names")
