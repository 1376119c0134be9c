"""Origin access control for Lambda function URL origins: the edge signs origin requests.

An origin with an ``OriginAccessControlId`` whose control is of type ``lambda`` gets each request
signed as CloudFront does: SigV4 for service ``lambda`` in the region of the URL, over the
origin's host and ``x-amz-date``, with ``x-amz-content-sha256`` stated. ``always`` signs every
request and replaces a viewer's ``Authorization``; ``no-override`` signs only requests without
one; ``never`` signs none. The payload hash is the empty body's, or the viewer's own
``x-amz-content-sha256`` for a request with a body; without it a body goes as
``UNSIGNED-PAYLOAD``, which Lambda refuses (AWS documents that viewers must send the SHA-256 of
a ``PUT`` or ``POST`` body).

The edge signs as CloudFront on behalf of the distribution: with LocalStack's internal credentials
and its ``x-localstack-data`` header naming the service principal ``cloudfront`` and the
distribution's ARN, as LocalStack's own services call on behalf of a resource;
``shop_localstack_ext.function_urls`` verifies the signature and checks the function's policy.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from localstack.aws.connect import (
    INTERNAL_REQUEST_PARAMS_HEADER,
    InternalRequestParameters,
    dump_dto,
)
from localstack.constants import INTERNAL_AWS_ACCESS_KEY_ID, INTERNAL_AWS_SECRET_ACCESS_KEY

from shop_localstack_ext.cloudfront.distributions import Distribution
from shop_localstack_ext.cloudfront.origins import OriginRequest

FUNCTION_URL_REGION = re.compile(r"^[a-z0-9]+\.lambda-url\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.")


def distribution_arn(distribution: Distribution) -> str:
    return (
        f"arn:aws:cloudfront::{distribution.account_id}:distribution/{distribution.distribution_id}"
    )


def lambda_signing_behaviour(distribution: Distribution, origin: dict[str, Any]) -> str | None:
    """The signing behaviour of the origin's access control when it is one for Lambda."""
    from moto.cloudfront.models import cloudfront_backends

    control_id = origin.get("OriginAccessControlId")
    if not control_id:
        return None
    backend = cloudfront_backends[distribution.account_id]["aws"]
    control = backend.origin_access_controls.get(control_id)
    if control is None or control.origin_type != "lambda":
        return None
    return control.signing_behaviour


def payload_hash(request: OriginRequest) -> str:
    if not request.body:
        return hashlib.sha256(b"").hexdigest()
    return request.headers.get("x-amz-content-sha256") or UNSIGNED_PAYLOAD


def signed(
    distribution: Distribution,
    origin: dict[str, Any],
    request: OriginRequest,
    url: str,
    headers: dict[str, str],
) -> dict[str, str]:
    """``headers`` for the request to ``url``, signed when the origin's access control says so."""
    behaviour = lambda_signing_behaviour(distribution, origin)
    if behaviour not in {"always", "no-override"}:
        return headers
    if behaviour == "no-override" and "authorization" in headers:
        return headers
    match = FUNCTION_URL_REGION.match(origin["DomainName"])
    region = match["region"] if match else "us-east-1"
    on_behalf = InternalRequestParameters(
        service_principal="cloudfront", source_arn=distribution_arn(distribution)
    )
    unsigned = {
        name: value
        for name, value in headers.items()
        if name not in {"authorization", "x-amz-date", "x-amz-security-token"}
    }
    to_sign = {
        "host": headers["host"],
        "x-amz-content-sha256": payload_hash(request),
        INTERNAL_REQUEST_PARAMS_HEADER: dump_dto(on_behalf),
    }
    aws_request = AWSRequest(method=request.method, url=url, headers=to_sign, data=request.body)
    credentials = Credentials(INTERNAL_AWS_ACCESS_KEY_ID, INTERNAL_AWS_SECRET_ACCESS_KEY)
    SigV4Auth(credentials, "lambda", region).add_auth(aws_request)
    return {**unsigned, **{name.lower(): value for name, value in aws_request.headers.items()}}
