"""``AWS::SES::EmailIdentity``: Ref is the identity (an address, or a domain without ``@``).

Creating it verifies the identity through the SES API (VerifyEmailIdentity, or
VerifyDomainIdentity and VerifyDomainDkim for a domain, whose three DKIM records are the
``DkimDNSTokenName<n>``/``DkimDNSTokenValue<n>`` attributes); deleting it deletes the identity.
``EmailIdentity`` replaces the resource. ``ConfigurationSetAttributes``, ``DkimAttributes``,
``DkimSigningAttributes``, ``FeedbackAttributes`` and ``MailFromAttributes`` are kept in the
model, not applied.
"""

from __future__ import annotations

from typing import Literal

from botocore.exceptions import ClientError
from localstack.services.cloudformation.resource_provider import ProgressEvent, ResourceRequest
from localstack.services.ses.resource_providers.aws_ses_emailidentity import (
    SESEmailIdentityProperties,
    SESEmailIdentityProvider,
)

from shop_localstack_ext.cfn.cloudfront import done, gone

Properties = SESEmailIdentityProperties
DkimName = Literal["DkimDNSTokenName1", "DkimDNSTokenName2", "DkimDNSTokenName3"]
DkimValue = Literal["DkimDNSTokenValue1", "DkimDNSTokenValue2", "DkimDNSTokenValue3"]
DKIM_RECORDS: tuple[tuple[DkimName, DkimValue], ...] = (
    ("DkimDNSTokenName1", "DkimDNSTokenValue1"),
    ("DkimDNSTokenName2", "DkimDNSTokenValue2"),
    ("DkimDNSTokenName3", "DkimDNSTokenValue3"),
)


def is_domain(identity: str) -> bool:
    return "@" not in identity


class EmailIdentityProvider(SESEmailIdentityProvider):
    """LocalStack's stub for this type (its TYPE, SCHEMA and ``list``), made to work."""

    def create(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        identity = model["EmailIdentity"]
        if identity is None:
            raise ValueError("EmailIdentity is a required property")
        ses = request.aws_client_factory.ses
        if not is_domain(identity):
            ses.verify_email_identity(EmailAddress=identity)
            return done(model)
        ses.verify_domain_identity(Domain=identity)
        tokens = ses.verify_domain_dkim(Domain=identity)["DkimTokens"]
        for (name, value), token in zip(DKIM_RECORDS, tokens[:3], strict=False):
            model[name] = f"{token}._domainkey.{identity}"
            model[value] = f"{token}.dkim.amazonses.com"
        return done(model)

    def update(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.desired_state
        previous = request.previous_state
        if previous is not None:
            for record in DKIM_RECORDS:
                for key in record:
                    if key in previous:
                        model[key] = previous[key]
        return done(model)

    def delete(self, request: ResourceRequest[Properties]) -> ProgressEvent[Properties]:
        model = request.previous_state or request.desired_state
        try:
            request.aws_client_factory.ses.delete_identity(Identity=model["EmailIdentity"])
        except ClientError as error:
            if not gone(error):
                raise
        return done(model)
