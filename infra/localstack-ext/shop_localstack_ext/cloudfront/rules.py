"""How a distribution treats one request, as pure functions of its configuration.

Nothing here does I/O or imports LocalStack: the path CloudFront matches on, which cache behaviour
a path falls under, what the cache key is, what reaches the origin, how long a response is cached,
which entries an invalidation path empties, which headers a response headers policy adds.
Configurations are CloudFront API shapes (``{"Quantity", "Items"}``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Config = Mapping[str, Any]

LOCALSTACK_DOMAIN = "localhost.localstack.cloud"
LEGACY_DEFAULT_TTL = 86_400
LEGACY_MAX_TTL = 31_536_000
DEFAULT_ERROR_CACHING_SECONDS = 10

# Viewer headers CloudFront passes to every origin whatever the policies say.
ALWAYS_FORWARDED_HEADERS = frozenset(
    {
        "content-length",
        "content-md5",
        "content-type",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "max-forwards",
        "pragma",
        "range",
    }
)
NOT_CACHEABLE_DIRECTIVES = frozenset({"no-store", "no-cache", "private"})
UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def items(wrapper: Config | None) -> list[Any]:
    """The ``Items`` of a ``{"Quantity", "Items"}`` wrapper, empty when it is absent."""
    return list((wrapper or {}).get("Items") or [])


@dataclass(frozen=True)
class Selection:
    """Which headers, cookies or query strings a policy picks: a behaviour and its names."""

    behavior: str = "none"
    names: frozenset[str] = field(default_factory=frozenset)

    def includes(self, name: str) -> bool:
        if self.behavior == "whitelist":
            return name in self.names
        if self.behavior == "allExcept":
            return name not in self.names
        return self.behavior in {"all", "allViewer", "allViewerAndWhitelistCloudFront"}


NOTHING = Selection()


@dataclass(frozen=True)
class Parameters:
    """Headers (lower-case names), cookies and query strings, as a policy selects them."""

    headers: Selection = NOTHING
    cookies: Selection = NOTHING
    query_strings: Selection = NOTHING


@dataclass(frozen=True)
class CachePolicy:
    min_ttl: int
    default_ttl: int
    max_ttl: int
    key: Parameters


def _selection(config: Config | None, behavior_key: str, names_key: str, lower: bool) -> Selection:
    config = config or {}
    names = items(config.get(names_key))
    return Selection(
        behavior=config.get(behavior_key) or "none",
        names=frozenset(n.lower() if lower else n for n in names),
    )


def policy_parameters(config: Config) -> Parameters:
    """The parameters of a cache policy's key or of an origin request policy."""
    return Parameters(
        headers=_selection(config.get("HeadersConfig"), "HeaderBehavior", "Headers", lower=True),
        cookies=_selection(config.get("CookiesConfig"), "CookieBehavior", "Cookies", lower=False),
        query_strings=_selection(
            config.get("QueryStringsConfig"), "QueryStringBehavior", "QueryStrings", lower=False
        ),
    )


def legacy_parameters(forwarded_values: Config) -> tuple[Parameters, Parameters]:
    """Cache key and forwarded parameters of a behaviour with legacy ``ForwardedValues``."""
    header_names = [h.lower() for h in items(forwarded_values.get("Headers"))]
    headers = (
        Selection("all")
        if "*" in header_names
        else Selection("whitelist" if header_names else "none", frozenset(header_names))
    )
    cookies_config = forwarded_values.get("Cookies") or {}
    cookies = Selection(
        cookies_config.get("Forward") or "none",
        frozenset(items(cookies_config.get("WhitelistedNames"))),
    )
    query_on = bool(forwarded_values.get("QueryString"))
    key_names = frozenset(items(forwarded_values.get("QueryStringCacheKeys")))
    forwarded_query = Selection("all" if query_on else "none")
    key_query = Selection("whitelist", key_names) if query_on and key_names else forwarded_query
    return (
        Parameters(headers=headers, cookies=cookies, query_strings=key_query),
        Parameters(headers=headers, cookies=cookies, query_strings=forwarded_query),
    )


def cache_policy_of(behaviour: Config, cache_policies: Mapping[str, Config]) -> CachePolicy:
    """The behaviour's cache policy, or the one its legacy TTLs and forwarded values make."""
    policy_id = behaviour.get("CachePolicyId")
    if policy_id:
        if policy_id not in cache_policies:
            raise LookupError(f"unknown cache policy {policy_id}")
        policy = cache_policies[policy_id]
        return CachePolicy(
            min_ttl=int(policy.get("MinTTL") or 0),
            default_ttl=int(policy.get("DefaultTTL") or 0),
            max_ttl=int(policy.get("MaxTTL") or 0),
            key=policy_parameters(policy.get("ParametersInCacheKeyAndForwardedToOrigin") or {}),
        )
    key, _ = legacy_parameters(behaviour.get("ForwardedValues") or {})
    return CachePolicy(
        min_ttl=int(behaviour.get("MinTTL") or 0),
        default_ttl=int(behaviour.get("DefaultTTL", LEGACY_DEFAULT_TTL)),
        max_ttl=int(behaviour.get("MaxTTL", LEGACY_MAX_TTL)),
        key=key,
    )


def forwarded_parameters(
    behaviour: Config, cache_policy: CachePolicy, origin_request_policies: Mapping[str, Config]
) -> list[Parameters]:
    """What reaches the origin: the cache key plus the origin request policy (or legacy values)."""
    if not behaviour.get("CachePolicyId"):
        _, forwarded = legacy_parameters(behaviour.get("ForwardedValues") or {})
        return [forwarded]
    policy_id = behaviour.get("OriginRequestPolicyId")
    if not policy_id:
        return [cache_policy.key]
    if policy_id not in origin_request_policies:
        raise LookupError(f"unknown origin request policy {policy_id}")
    return [cache_policy.key, policy_parameters(origin_request_policies[policy_id])]


def normalised_path(raw_path: str) -> str:
    """The path CloudFront matches path patterns on: the raw path normalised as RFC 3986 says
    (escapes of unreserved characters decoded, other escapes in upper case, dot segments removed,
    never above the root), and runs of slashes made one, as CloudFront's guide adds. Reserved
    characters stay escaped: ``%2F`` is no separator, ``..%2F`` no dot segment, ``%3F`` no query.
    """

    def unescaped(escape: re.Match[str]) -> str:
        character = chr(int(escape[1], 16))
        return character if character in UNRESERVED else escape[0].upper()

    decoded = PERCENT_ESCAPE.sub(
        unescaped, raw_path if raw_path.startswith("/") else f"/{raw_path}"
    )
    segments = re.sub("/{2,}", "/", decoded).split("/")[1:]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    ends_in_directory = segments[-1] in {".", ".."} and bool(kept)
    return "/" + "/".join(kept) + ("/" if ends_in_directory else "")


def path_pattern_regex(pattern: str) -> re.Pattern[str]:
    """A path pattern as CloudFront reads it: ``*`` any run of characters, ``?`` exactly one."""
    pattern = pattern if pattern.startswith("/") else f"/{pattern}"
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    return path_pattern_regex(pattern).fullmatch(path) is not None


def select_behaviour(config: Config, path: str) -> Config:
    """The first cache behaviour whose path pattern matches ``path`` (normalised), else the
    default behaviour."""
    behaviour: Config
    for behaviour in items(config.get("CacheBehaviors")):
        if path_matches(behaviour["PathPattern"], path):
            return behaviour
    default: Config = config["DefaultCacheBehavior"]
    return default


def allowed_methods(behaviour: Config) -> frozenset[str]:
    return frozenset(items(behaviour.get("AllowedMethods")) or ["GET", "HEAD"])


def cached_methods(behaviour: Config) -> frozenset[str]:
    allowed = behaviour.get("AllowedMethods") or {}
    return frozenset(items(allowed.get("CachedMethods")) or ["GET", "HEAD"])


def selected_query(
    query: Iterable[tuple[str, str]], selections: Iterable[Selection]
) -> list[tuple[str, str]]:
    chosen = list(selections)
    return [(k, v) for k, v in query if any(s.includes(k) for s in chosen)]


def cache_key(
    distribution_id: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    key: Parameters,
) -> str:
    """The cache key: distribution, path, and the query strings, headers, cookies the key names.

    ``headers`` must have lower-case names. Query strings keep their order among equal names
    and are sorted by name, so ``?b=1&a=2`` and ``?a=2&b=1`` share an entry, as on CloudFront.
    """
    query_part = sorted(selected_query(query, [key.query_strings]), key=lambda pair: pair[0])
    header_part = sorted((n, v) for n, v in headers.items() if key.headers.includes(n))
    cookie_part = sorted((n, v) for n, v in cookies.items() if key.cookies.includes(n))
    return repr((distribution_id.lower(), path, query_part, header_part, cookie_part))


def forwarded_query(
    query: Iterable[tuple[str, str]], parameters: Iterable[Parameters]
) -> list[tuple[str, str]]:
    return selected_query(query, [p.query_strings for p in parameters])


def forwarded_headers(
    headers: Mapping[str, str], method: str, parameters: Iterable[Parameters]
) -> dict[str, str]:
    """Viewer headers (lower-case names) that reach the origin. ``Host`` is never among them
    unless a policy names it; ``Authorization`` also passes on methods that change data."""
    chosen = list(parameters)
    passed: dict[str, str] = {}
    for name, value in headers.items():
        if name == "cookie":
            continue
        picked = any(p.headers.includes(name) for p in chosen)
        if (
            picked
            or name in ALWAYS_FORWARDED_HEADERS
            or (name == "authorization" and method not in {"GET", "HEAD"})
        ):
            passed[name] = value
    return passed


def forwarded_cookies(
    cookies: Mapping[str, str], parameters: Iterable[Parameters]
) -> dict[str, str]:
    chosen = list(parameters)
    return {n: v for n, v in cookies.items() if any(p.cookies.includes(n) for p in chosen)}


def cache_control_directives(value: str | None) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in (value or "").split(","):
        name, _, argument = part.strip().partition("=")
        if name:
            directives[name.lower()] = argument.strip().strip('"')
    return directives


def seconds_to_cache(policy: CachePolicy, cache_control: str | None) -> int:
    """How long CloudFront keeps a response, given the policy's TTLs and the origin's
    ``Cache-Control``: no-store/no-cache/private keep it MinTTL; s-maxage or max-age are
    clamped between MinTTL and MaxTTL; otherwise DefaultTTL. MaxTTL 0 never caches."""
    if policy.max_ttl == 0:
        return 0
    directives = cache_control_directives(cache_control)
    if NOT_CACHEABLE_DIRECTIVES & directives.keys():
        return policy.min_ttl
    for name in ("s-maxage", "max-age"):
        if directives.get(name, "").isdigit():
            return min(max(int(directives[name]), policy.min_ttl), policy.max_ttl)
    return min(max(policy.default_ttl, policy.min_ttl), policy.max_ttl)


def invalidation_matches(invalidation_path: str, path: str) -> bool:
    """An invalidation path names one path, or every path it prefixes when it ends with ``*``."""
    if invalidation_path.endswith("*"):
        return path.startswith(invalidation_path[:-1])
    return path == invalidation_path


def custom_error_response(config: Config, status: int) -> Config | None:
    return next(
        (r for r in items(config.get("CustomErrorResponses")) if int(r["ErrorCode"]) == status),
        None,
    )


def error_caching_seconds(error_response: Config) -> int:
    """How long a custom error response is cached: ``ErrorCachingMinTTL``, 10 s by default."""
    value = error_response.get("ErrorCachingMinTTL")
    return DEFAULT_ERROR_CACHING_SECONDS if value is None else int(value)


def response_headers_policy_of(
    behaviour: Config, response_headers_policies: Mapping[str, Config]
) -> Config | None:
    """The configuration of the behaviour's response headers policy, if it names one."""
    policy_id = behaviour.get("ResponseHeadersPolicyId")
    if not policy_id:
        return None
    if policy_id not in response_headers_policies:
        raise LookupError(f"unknown response headers policy {policy_id}")
    return response_headers_policies[policy_id]


def security_headers(config: Config) -> Iterable[tuple[str, str, bool]]:
    """(name, value, override) of each header of a ``SecurityHeadersConfig``."""
    if hsts := config.get("StrictTransportSecurity"):
        value = f"max-age={int(hsts['AccessControlMaxAgeSec'])}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        value += "; preload" if hsts.get("Preload") else ""
        yield "Strict-Transport-Security", value, bool(hsts["Override"])
    if options := config.get("ContentTypeOptions"):
        yield "X-Content-Type-Options", "nosniff", bool(options["Override"])
    if frame := config.get("FrameOptions"):
        yield "X-Frame-Options", frame["FrameOption"], bool(frame["Override"])
    if referrer := config.get("ReferrerPolicy"):
        yield "Referrer-Policy", referrer["ReferrerPolicy"], bool(referrer["Override"])
    if csp := config.get("ContentSecurityPolicy"):
        yield "Content-Security-Policy", csp["ContentSecurityPolicy"], bool(csp["Override"])
    if xss := config.get("XSSProtection"):
        value = "1" if xss["Protection"] else "0"
        value += "; mode=block" if xss["Protection"] and xss.get("ModeBlock") else ""
        value += (
            f"; report={xss['ReportUri']}" if xss["Protection"] and xss.get("ReportUri") else ""
        )
        yield "X-XSS-Protection", value, bool(xss["Override"])


def with_response_headers(
    headers: Iterable[tuple[str, str]], policy: Config | None
) -> list[tuple[str, str]]:
    """A response's headers after a response headers policy: its headers removed, then its
    security and custom headers added; one the response already has is replaced when the policy
    says ``Override``, otherwise the response's own is kept. CORS and Server-Timing headers are
    not served here."""
    kept = list(headers)
    if policy is None:
        return kept
    if policy.get("CorsConfig") or (policy.get("ServerTimingHeadersConfig") or {}).get("Enabled"):
        raise LookupError("CORS and Server-Timing headers of response headers policies")
    removed = {item["Header"].lower() for item in items(policy.get("RemoveHeadersConfig"))}
    kept = [(name, value) for name, value in kept if name.lower() not in removed]
    added = [
        *security_headers(policy.get("SecurityHeadersConfig") or {}),
        *(
            (item["Header"], item["Value"], bool(item["Override"]))
            for item in items(policy.get("CustomHeadersConfig"))
        ),
    ]
    for name, value, override in added:
        present = any(existing.lower() == name.lower() for existing, _ in kept)
        if present and not override:
            continue
        kept = [(n, v) for n, v in kept if n.lower() != name.lower()]
        kept.append((name, value))
    return kept


def s3_bucket_of(domain_name: str) -> str | None:
    """The bucket of an S3 REST endpoint domain: ``<bucket>.s3[.<region>].amazonaws.com`` or
    LocalStack's ``<bucket>.s3.localhost.localstack.cloud``."""
    match = re.fullmatch(r"(?P<bucket>.+)\.s3([.-][a-z0-9-]+)*\.[a-z0-9.-]+(:\d+)?", domain_name)
    return match["bucket"] if match else None


def origin_address(
    domain_name: str, http_port: int, gateway_port: int, gateway_host: str
) -> tuple[str, int]:
    """Where to connect for a custom origin. Names LocalStack hands out (under
    ``localhost.localstack.cloud`` or under its own host, as function URLs are:
    ``<id>.lambda-url.<region>.127.0.0.1:4566``) do not resolve from Python, so they go to
    LocalStack's gateway; any other name to its own port (one in the name wins over HTTPPort)."""
    host, _, port = domain_name.lower().rstrip(".").partition(":")
    under_localstack = host == LOCALSTACK_DOMAIN or host.endswith(f".{LOCALSTACK_DOMAIN}")
    if under_localstack or host.endswith(f".{gateway_host.lower()}"):
        return "127.0.0.1", gateway_port
    return host, int(port) if port.isdigit() else http_port
