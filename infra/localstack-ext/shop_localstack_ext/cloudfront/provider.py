"""CloudFront service provider: moto answers the control plane, this provider fills its gaps.

LocalStack community has no CloudFront provider (the API answers 501). Moto, bundled with
LocalStack, implements most of the control plane (distributions, invalidations, origin access
controls, key groups, public keys, tags). This plugin registers as ``cloudfront:default`` in the
``localstack.aws.provider`` namespace and sends every operation of the service model to moto,
except where moto falls short:

- distribution configurations are recorded as sent (``distributions.DISTRIBUTIONS``) and answered
  back from there, because moto drops origin access control ids, custom error responses and
  forwarded values; S3 origin domains that moto refuses (LocalStack-style
  ``<bucket>.s3.localhost.localstack.cloud``) reach moto as ``<bucket>.s3.amazonaws.com``, and
  cache behaviours do not reach it at all (it fails on more than one);
- CreateOriginAccessControl answers its ETag;
- the managed cache and origin request policies are listed and readable, and a distribution
  naming any other policy id is refused (NoSuchCachePolicy / NoSuchOriginRequestPolicy);
- response headers policies (which moto lacks) are created, read, listed, updated and deleted
  here, with ETags and CloudFront's refusals (a name taken, a stale ``IfMatch``, a policy in use);
  a distribution naming an unknown one is refused (NoSuchResponseHeadersPolicy);
- CreateInvalidation and DeleteDistribution also empty the edge cache.

Operations neither moto nor this provider implement answer 501 as before. The distribution's
domain name is AWS's form, ``<random>.cloudfront.net``; the edge serves it under that name too.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.aws.skeleton import DispatchTable
from localstack.aws.spec import load_service
from localstack.services.moto import call_moto, call_moto_with_request
from localstack.services.plugins import PLUGIN_NAMESPACE, Service, ServicePluginAdapter
from moto.cloudfront.models import cloudfront_backends
from plux import PluginSpec  # type: ignore[import-untyped]

from shop_localstack_ext.cloudfront.cache import EDGE_CACHE
from shop_localstack_ext.cloudfront.distributions import DISTRIBUTIONS, Distribution
from shop_localstack_ext.cloudfront.managed_policies import (
    MANAGED_CACHE_POLICIES,
    MANAGED_ORIGIN_REQUEST_POLICIES,
)
from shop_localstack_ext.cloudfront.response_headers_policies import (
    RESPONSE_HEADERS_POLICIES,
    ResponseHeadersPolicy,
)
from shop_localstack_ext.cloudfront.rules import s3_bucket_of

SERVICE = "cloudfront"
MANAGED_POLICIES_MODIFIED = datetime(2020, 10, 1, tzinfo=UTC)

# The parsed request: LocalStack has no request types of CloudFront, so this is as typed as it gets.
Request = Mapping[str, Any]
Response = dict[str, Any]
Operation = Callable[[RequestContext, Request], Response]


class CloudFrontMotoProvider:
    """Marker provider: the dispatch table holds the operations."""

    service = SERVICE


def forward_to_moto(context: RequestContext, request: Request) -> Response:
    """Answer one request with moto (the parsed request is already in the context)."""
    return dict(call_moto(context))


def moto_acceptable_config(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as moto can take it: S3 origin domains ending in ``amazonaws.com``, and
    no cache behaviours (moto fails on more than one; the recorded configuration keeps them)."""
    accepted = copy.deepcopy(config)
    if accepted.get("CacheBehaviors", {}).get("Quantity"):
        accepted["CacheBehaviors"] = {"Quantity": 0}
    for origin in accepted.get("Origins", {}).get("Items", []):
        if "S3OriginConfig" not in origin:
            continue
        bucket = s3_bucket_of(origin["DomainName"])
        if bucket is None:
            raise CommonServiceException(
                "InvalidArgument",
                "The parameter Origin DomainName does not refer to a valid S3 bucket.",
                sender_fault=True,
            )
        origin["DomainName"] = f"{bucket}.s3.amazonaws.com"
    return accepted


def call_moto_with_config(
    context: RequestContext, request: Request, config: dict[str, Any]
) -> Response:
    accepted = moto_acceptable_config(config)
    if accepted == config:
        return forward_to_moto(context, request)
    changed = copy.deepcopy(dict(request))
    if "DistributionConfigWithTags" in changed:
        changed["DistributionConfigWithTags"]["DistributionConfig"] = accepted
    else:
        changed["DistributionConfig"] = accepted
    return dict(call_moto_with_request(context, changed))  # type: ignore[arg-type]


def behaviours_of(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", {}).get("Items", [])]


def refuse_unknown_policies(context: RequestContext, config: dict[str, Any]) -> None:
    """Refuse a configuration naming a policy that does not exist, as CloudFront does: of cache
    and origin request policies only the managed ones exist here."""
    response_headers_policies = {
        p.policy_id for p in RESPONSE_HEADERS_POLICIES.of_account(context.account_id)
    }
    for behaviour in behaviours_of(config):
        for field, policies, kind in (
            ("CachePolicyId", MANAGED_CACHE_POLICIES.keys(), "CachePolicy"),
            (
                "OriginRequestPolicyId",
                MANAGED_ORIGIN_REQUEST_POLICIES.keys(),
                "OriginRequestPolicy",
            ),
            ("ResponseHeadersPolicyId", response_headers_policies, "ResponseHeadersPolicy"),
        ):
            policy_id = behaviour.get(field)
            if policy_id and policy_id not in policies:
                raise CommonServiceException(
                    f"NoSuch{kind}",
                    f"The {kind} {policy_id} does not exist.",
                    status_code=404,
                    sender_fault=True,
                )


def remember(context: RequestContext, distribution: dict[str, Any], config: dict[str, Any]) -> None:
    DISTRIBUTIONS.put(
        Distribution(
            account_id=context.account_id,
            distribution_id=distribution["Id"],
            domain_name=distribution["DomainName"].lower(),
            config=copy.deepcopy(config),
        )
    )
    distribution["DistributionConfig"] = copy.deepcopy(config)


def create_distribution(context: RequestContext, request: Request) -> Response:
    if "DistributionConfigWithTags" in request:
        config = request["DistributionConfigWithTags"]["DistributionConfig"]
    else:
        config = request["DistributionConfig"]
    refuse_unknown_policies(context, config)
    response = call_moto_with_config(context, request, config)
    remember(context, response["Distribution"], config)
    return response


def update_distribution(context: RequestContext, request: Request) -> Response:
    config = request["DistributionConfig"]
    refuse_unknown_policies(context, config)
    response = call_moto_with_config(context, request, config)
    remember(context, response["Distribution"], config)
    EDGE_CACHE.drop_distribution(response["Distribution"]["Id"])
    return response


def recorded_config(distribution_id: str) -> dict[str, Any] | None:
    distribution = DISTRIBUTIONS.by_id(distribution_id)
    return copy.deepcopy(distribution.config) if distribution else None


def get_distribution(context: RequestContext, request: Request) -> Response:
    response = forward_to_moto(context, request)
    if config := recorded_config(request["Id"]):
        response["Distribution"]["DistributionConfig"] = config
    return response


def get_distribution_config(context: RequestContext, request: Request) -> Response:
    response = forward_to_moto(context, request)
    if config := recorded_config(request["Id"]):
        response["DistributionConfig"] = config
    return response


def list_distributions(context: RequestContext, request: Request) -> Response:
    response = forward_to_moto(context, request)
    summary_members = set(load_service(SERVICE).shape_for("DistributionSummary").members)
    for summary in response.get("DistributionList", {}).get("Items", []):
        config = recorded_config(summary["Id"]) or {}
        summary.update({k: v for k, v in config.items() if k in summary_members})
    return response


def delete_distribution(context: RequestContext, request: Request) -> Response:
    response = forward_to_moto(context, request)
    DISTRIBUTIONS.remove(request["Id"])
    EDGE_CACHE.drop_distribution(request["Id"])
    return response


def create_invalidation(context: RequestContext, request: Request) -> Response:
    response = forward_to_moto(context, request)
    paths = request["InvalidationBatch"]["Paths"].get("Items", [])
    EDGE_CACHE.invalidate(request["DistributionId"], paths)
    return response


def create_origin_access_control(context: RequestContext, request: Request) -> Response:
    response = forward_to_moto(context, request)
    backend = cloudfront_backends[context.account_id][context.partition]
    control_id = response["OriginAccessControl"]["Id"]
    response["ETag"] = backend.origin_access_controls[control_id].etag
    return response


def managed_policy(policies: dict[str, dict[str, Any]], kind: str, policy_id: str) -> Response:
    if policy_id not in policies:
        raise CommonServiceException(
            f"NoSuch{kind}", f"The {kind} does not exist.", status_code=404, sender_fault=True
        )
    return {
        "Id": policy_id,
        "LastModifiedTime": MANAGED_POLICIES_MODIFIED,
        f"{kind}Config": copy.deepcopy(policies[policy_id]),
    }


def managed_policy_list(
    policies: dict[str, dict[str, Any]], kind: str, request: Request
) -> Response:
    wanted = request.get("Type") or "all"
    items = [
        {"Type": "managed", kind: managed_policy(policies, kind, policy_id)}
        for policy_id in policies
        if wanted in ("all", "managed")
    ]
    return {f"{kind}List": {"MaxItems": 100, "Quantity": len(items), "Items": items}}


def policy_operations(policies: dict[str, dict[str, Any]], kind: str) -> dict[str, Operation]:
    """Get<kind>, Get<kind>Config and List<kind>s answered from a table of managed policies."""

    def get(context: RequestContext, request: Request) -> Response:
        return {kind: managed_policy(policies, kind, request["Id"]), "ETag": request["Id"]}

    def get_config(context: RequestContext, request: Request) -> Response:
        policy = managed_policy(policies, kind, request["Id"])
        return {f"{kind}Config": policy[f"{kind}Config"], "ETag": request["Id"]}

    def list_all(context: RequestContext, request: Request) -> Response:
        return managed_policy_list(policies, kind, request)

    plural = kind.removesuffix("y") + "ies"
    return {f"Get{kind}": get, f"Get{kind}Config": get_config, f"List{plural}": list_all}


def refusal(code: str, message: str, status: int) -> CommonServiceException:
    return CommonServiceException(code, message, status_code=status, sender_fault=True)


def response_headers_policy(context: RequestContext, policy_id: str) -> ResponseHeadersPolicy:
    policy = RESPONSE_HEADERS_POLICIES.get(policy_id)
    if policy is None or policy.account_id != context.account_id:
        raise refusal(
            "NoSuchResponseHeadersPolicy", "The response headers policy does not exist.", 404
        )
    return policy


def matching_etag(policy: ResponseHeadersPolicy, if_match: str | None) -> None:
    if not if_match:
        raise refusal("InvalidIfMatchVersion", "The If-Match version is missing or not valid.", 400)
    if if_match != policy.etag:
        raise refusal("PreconditionFailed", "The If-Match version does not match.", 412)


def refuse_taken_name(context: RequestContext, name: str, policy_id: str | None = None) -> None:
    for other in RESPONSE_HEADERS_POLICIES.of_account(context.account_id):
        if other.config["Name"] == name and other.policy_id != policy_id:
            raise refusal(
                "ResponseHeadersPolicyAlreadyExists",
                f"A response headers policy named {name} already exists.",
                409,
            )


def stored_response_headers_policy(
    context: RequestContext, policy_id: str, config: Mapping[str, Any]
) -> ResponseHeadersPolicy:
    policy = ResponseHeadersPolicy(
        account_id=context.account_id,
        policy_id=policy_id,
        etag=uuid.uuid4().hex[:14].upper(),
        last_modified=datetime.now(UTC),
        config=copy.deepcopy(dict(config)),
    )
    RESPONSE_HEADERS_POLICIES.put(policy)
    return policy


def response_headers_policy_shape(policy: ResponseHeadersPolicy) -> Response:
    return {
        "Id": policy.policy_id,
        "LastModifiedTime": policy.last_modified,
        "ResponseHeadersPolicyConfig": copy.deepcopy(policy.config),
    }


def create_response_headers_policy(context: RequestContext, request: Request) -> Response:
    config = request["ResponseHeadersPolicyConfig"]
    refuse_taken_name(context, config["Name"])
    policy = stored_response_headers_policy(context, str(uuid.uuid4()), config)
    return {
        "ResponseHeadersPolicy": response_headers_policy_shape(policy),
        "Location": f"https://cloudfront.amazonaws.com/2020-05-31/response-headers-policy/{policy.policy_id}",
        "ETag": policy.etag,
    }


def get_response_headers_policy(context: RequestContext, request: Request) -> Response:
    policy = response_headers_policy(context, request["Id"])
    return {"ResponseHeadersPolicy": response_headers_policy_shape(policy), "ETag": policy.etag}


def get_response_headers_policy_config(context: RequestContext, request: Request) -> Response:
    policy = response_headers_policy(context, request["Id"])
    return {"ResponseHeadersPolicyConfig": copy.deepcopy(policy.config), "ETag": policy.etag}


def update_response_headers_policy(context: RequestContext, request: Request) -> Response:
    policy = response_headers_policy(context, request["Id"])
    matching_etag(policy, request.get("IfMatch"))
    config = request["ResponseHeadersPolicyConfig"]
    refuse_taken_name(context, config["Name"], policy.policy_id)
    updated = stored_response_headers_policy(context, policy.policy_id, config)
    return {"ResponseHeadersPolicy": response_headers_policy_shape(updated), "ETag": updated.etag}


def delete_response_headers_policy(context: RequestContext, request: Request) -> Response:
    policy = response_headers_policy(context, request["Id"])
    matching_etag(policy, request.get("IfMatch"))
    in_use = any(
        behaviour.get("ResponseHeadersPolicyId") == policy.policy_id
        for distribution in DISTRIBUTIONS.all()
        for behaviour in behaviours_of(distribution.config)
    )
    if in_use:
        raise refusal(
            "ResponseHeadersPolicyInUse",
            "Cannot delete the response headers policy: a distribution uses it.",
            409,
        )
    RESPONSE_HEADERS_POLICIES.remove(policy.policy_id)
    return {}


def list_response_headers_policies(context: RequestContext, request: Request) -> Response:
    wanted = request.get("Type") or "all"
    found = RESPONSE_HEADERS_POLICIES.of_account(context.account_id)
    items = [
        {"Type": "custom", "ResponseHeadersPolicy": response_headers_policy_shape(policy)}
        for policy in found
        if wanted in ("all", "custom")
    ]
    return {"ResponseHeadersPolicyList": {"MaxItems": 100, "Quantity": len(items), "Items": items}}


def filled_gaps() -> dict[str, Operation]:
    operations: dict[str, Operation] = {
        "CreateDistribution": create_distribution,
        "CreateDistributionWithTags": create_distribution,
        "UpdateDistribution": update_distribution,
        "GetDistribution": get_distribution,
        "GetDistributionConfig": get_distribution_config,
        "ListDistributions": list_distributions,
        "DeleteDistribution": delete_distribution,
        "CreateInvalidation": create_invalidation,
        "CreateOriginAccessControl": create_origin_access_control,
    }
    operations |= {
        "CreateResponseHeadersPolicy": create_response_headers_policy,
        "GetResponseHeadersPolicy": get_response_headers_policy,
        "GetResponseHeadersPolicyConfig": get_response_headers_policy_config,
        "UpdateResponseHeadersPolicy": update_response_headers_policy,
        "DeleteResponseHeadersPolicy": delete_response_headers_policy,
        "ListResponseHeadersPolicies": list_response_headers_policies,
    }
    operations |= policy_operations(MANAGED_CACHE_POLICIES, "CachePolicy")
    operations |= policy_operations(MANAGED_ORIGIN_REQUEST_POLICIES, "OriginRequestPolicy")
    return operations


def dispatch_table(provider: object) -> DispatchTable:
    """Every operation of the CloudFront service model: moto's, or this module's where moto falls
    short."""
    model = load_service(SERVICE)
    gaps = filled_gaps()
    return {name: gaps.get(name, forward_to_moto) for name in model.operation_names}  # type: ignore[misc]


def create_service() -> Service:
    """The CloudFront service, created when LocalStack first needs it."""
    return Service.for_provider(CloudFrontMotoProvider(), dispatch_table_factory=dispatch_table)


def create_plugin() -> ServicePluginAdapter:
    return ServicePluginAdapter(api=SERVICE, create_service=create_service)


# What ``@aws_provider(api="cloudfront")`` builds, spelled out so that it stays typed.
cloudfront = PluginSpec(PLUGIN_NAMESPACE, f"{SERVICE}:default", factory=create_plugin)
