"""CloudFront service provider that forwards every operation to moto.

LocalStack community has no CloudFront provider (the API answers 501). Moto, bundled with
LocalStack, implements the control plane (distributions, invalidations, origin access controls,
key groups, public keys, tags). This plugin registers as ``cloudfront:default`` in the
``localstack.aws.provider`` namespace and builds a dispatch table that sends each operation of
the CloudFront service model to moto. Operations moto does not implement answer 501 as before.
Serving content through a distribution (the data plane) is not part of this provider.
"""

from __future__ import annotations

from localstack.aws.api import RequestContext, ServiceRequest, ServiceResponse
from localstack.aws.skeleton import DispatchTable
from localstack.aws.spec import load_service
from localstack.services.moto import call_moto
from localstack.services.plugins import PLUGIN_NAMESPACE, Service, ServicePluginAdapter
from plux import PluginSpec  # type: ignore[import-untyped]

SERVICE = "cloudfront"


class CloudFrontMotoProvider:
    """Marker provider: it implements nothing itself, moto answers every operation."""

    service = SERVICE


def forward_to_moto(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
    """Answer one request with moto (the parsed request is already in the context)."""
    return call_moto(context)


def moto_dispatch_table(provider: object) -> DispatchTable:
    """A dispatch table sending every operation of the CloudFront service model to moto."""
    model = load_service(SERVICE)
    return {operation: forward_to_moto for operation in model.operation_names}


def create_service() -> Service:
    """The CloudFront service, created when LocalStack first needs it."""
    return Service.for_provider(
        CloudFrontMotoProvider(), dispatch_table_factory=moto_dispatch_table
    )


def create_plugin() -> ServicePluginAdapter:
    return ServicePluginAdapter(api=SERVICE, create_service=create_service)


# What ``@aws_provider(api="cloudfront")`` builds, spelled out so that it stays typed.
cloudfront = PluginSpec(PLUGIN_NAMESPACE, f"{SERVICE}:default", factory=create_plugin)
