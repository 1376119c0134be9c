"""Plugins in LocalStack's ``localstack.cloudformation.resource_providers`` namespace, one per
resource type; each loads its provider class when a stack first uses the type."""

from __future__ import annotations

from typing import Any

from localstack.services.cloudformation.resource_provider import (
    CloudFormationResourceProviderPlugin,
)


class _ProviderPlugin(CloudFormationResourceProviderPlugin):
    def __init__(self) -> None:
        self.factory: type[Any] | None = None


class DistributionProviderPlugin(_ProviderPlugin):
    name = "AWS::CloudFront::Distribution"

    def load(self) -> None:
        from shop_localstack_ext.cfn.cloudfront import DistributionProvider

        self.factory = DistributionProvider


class OriginAccessControlProviderPlugin(_ProviderPlugin):
    name = "AWS::CloudFront::OriginAccessControl"

    def load(self) -> None:
        from shop_localstack_ext.cfn.cloudfront import OriginAccessControlProvider

        self.factory = OriginAccessControlProvider


class ResponseHeadersPolicyProviderPlugin(_ProviderPlugin):
    name = "AWS::CloudFront::ResponseHeadersPolicy"

    def load(self) -> None:
        from shop_localstack_ext.cfn.cloudfront import ResponseHeadersPolicyProvider

        self.factory = ResponseHeadersPolicyProvider


class HostedZoneProviderPlugin(_ProviderPlugin):
    name = "AWS::Route53::HostedZone"

    def load(self) -> None:
        from shop_localstack_ext.cfn.route53 import HostedZoneProvider

        self.factory = HostedZoneProvider


class ArchiveProviderPlugin(_ProviderPlugin):
    name = "AWS::Events::Archive"

    def load(self) -> None:
        from shop_localstack_ext.cfn.events import ArchiveProvider

        self.factory = ArchiveProvider


class EmailIdentityProviderPlugin(_ProviderPlugin):
    """Registered under the name of LocalStack's own stub plugin for the type; which of the two
    plux keeps depends on the order of the installed distributions, so the patch
    ``shop_localstack_ext.patches.ses_email_identity_plugin_load`` makes the stub load this
    provider too."""

    name = "AWS::SES::EmailIdentity"

    def load(self) -> None:
        from shop_localstack_ext.cfn.ses import EmailIdentityProvider

        self.factory = EmailIdentityProvider
