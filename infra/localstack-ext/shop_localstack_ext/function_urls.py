"""``AWS_IAM`` on Lambda function URLs, as AWS enforces it (applied by ``patches``).

Upstream bug (LocalStack 4.13.1): ``FunctionUrlRouter.handle_lambda_url_invocation``
(``localstack/services/lambda_/urlrouter.py``) invokes the function for any request to its URL
and never reads the URL's ``AuthType``, so a URL created with ``AWS_IAM`` is as public as one with
``NONE``, and nothing a stack does to keep it private can be tested. AWS answers a request to an
``AWS_IAM`` URL with 403 ``{"Message":"Forbidden"}`` (``x-amzn-ErrorType:
AccessDeniedException``) unless it carries a SigV4 signature (service ``lambda``) that verifies,
of a body whose SHA-256 it states (Lambda takes no unsigned payload), from a caller the function
admits. ``require_aws_iam`` wraps the handler with those checks (the signature's region must be
the URL's, its date within 15 minutes); ``NONE`` URLs are served as before.

Which secret verifies a signature: LocalStack keeps no secrets, so this follows its conventions.
The internal access key (``localstack.constants.INTERNAL_AWS_ACCESS_KEY_ID``) signs with its
internal secret; every other access key with ``test``, the secret LocalStack documents for its
test credentials (``AWS_SECRET_ACCESS_KEY=test``).

Who the caller is: LocalStack's services call on behalf of a service principal with the internal
credentials and the ``x-localstack-data`` header (``service_principal``, ``source_arn``), as
``connect_to(...).request_metadata(...)`` sends it; the CloudFront edge of this extension signs its
origin requests that way (``cloudfront.origin_access``). Any other caller is the account of its
access key. Since October 2025 a function URL needs both ``lambda:InvokeFunctionUrl`` and
``lambda:InvokeFunction`` granted: a service principal, or another account, needs statements in
the function's policy allowing both (their ``AWS:SourceArn``/``AWS:SourceAccount`` conditions
met); a caller of the function's own account needs none, as LocalStack community evaluates no
identity policy.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from localstack.aws.accounts import get_account_id_from_access_key_id
from localstack.aws.connect import INTERNAL_REQUEST_PARAMS_HEADER
from localstack.constants import INTERNAL_AWS_ACCESS_KEY_ID, INTERNAL_AWS_SECRET_ACCESS_KEY
from localstack.http import Request, Response
from rolo.request import get_full_raw_path

LOG = logging.getLogger(__name__)
# LocalStack's documented test secret (AWS_SECRET_ACCESS_KEY=test), no credential.
TEST_SECRET_ACCESS_KEY = "test"  # nosec B105
URL_ACTIONS = ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction")
CLOCK_SKEW = timedelta(minutes=15)
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
Handler = Callable[..., Response]


@dataclass(frozen=True)
class Caller:
    """Who signed a request: an account, or a service principal on behalf of a resource."""

    account_id: str
    service_principal: str | None = None
    source_arn: str | None = None


def forbidden() -> Response:
    response = Response('{"Message":"Forbidden"}', status=403, mimetype="application/json")
    response.headers["x-amzn-ErrorType"] = "AccessDeniedException"
    return response


def secret_access_key(access_key_id: str) -> str:
    internal = access_key_id == INTERNAL_AWS_ACCESS_KEY_ID
    return INTERNAL_AWS_SECRET_ACCESS_KEY if internal else TEST_SECRET_ACCESS_KEY


class SignedHeadersOnly(SigV4Auth):  # type: ignore[misc]
    """SigV4 over exactly the headers a signature names (botocore's signer picks its own)."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, "lambda", region)
        self.signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self.signed:
            for value in request.headers.get_all(name) or []:
                chosen[name] = value
        return chosen


def expected_signature(request: Request, key: str, region: str, signed: list[str]) -> str:
    timestamp = request.headers.get("X-Amz-Date", "")
    headers = HTTPHeaders()
    for name, value in request.headers.items():
        headers[name.lower()] = value
    url = f"http://{request.host}{get_full_raw_path(request)}"
    rebuilt = AWSRequest(method=request.method, url=url, headers=headers, data=request.get_data())
    rebuilt.context["timestamp"] = timestamp
    signer = SignedHeadersOnly(Credentials(key, secret_access_key(key)), region, signed)
    signature: str = signer.signature(
        signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt
    )
    return signature


def signed_in_time(timestamp: str, now: datetime) -> bool:
    try:
        signed_at = datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return False
    return abs(now - signed_at) <= CLOCK_SKEW


def verified_caller(request: Request, region: str, now: datetime) -> Caller | None:
    """The caller whose SigV4 signature of ``request`` (to a URL in ``region``) verifies, else
    None."""
    match = AUTHORIZATION.fullmatch(request.headers.get("Authorization", "").strip())
    if match is None or (match["service"], match["region"]) != ("lambda", region):
        return None
    signed = match["headers"].split(";")
    stated_hash = request.headers.get("X-Amz-Content-Sha256")
    body_hash = hashlib.sha256(request.get_data()).hexdigest()
    if not {"host", "x-amz-date"} <= set(signed) or stated_hash not in {None, body_hash}:
        return None
    timestamp = request.headers.get("X-Amz-Date", "")
    if not timestamp.startswith(match["date"]) or not signed_in_time(timestamp, now):
        return None
    key = match["key"]
    expected = expected_signature(request, key, region, signed)
    if not hmac.compare_digest(expected, match["signature"]):
        return None
    account_id = get_account_id_from_access_key_id(key)
    on_behalf = json.loads(request.headers.get(INTERNAL_REQUEST_PARAMS_HEADER) or "{}")
    if key == INTERNAL_AWS_ACCESS_KEY_ID and on_behalf.get("service_principal"):
        source_arn = on_behalf.get("source_arn")
        source_account = source_arn.split(":")[4] if source_arn else account_id
        principal = f"{on_behalf['service_principal']}.amazonaws.com"
        return Caller(source_account, principal, source_arn)
    return Caller(account_id)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def names_caller(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if caller.service_principal is not None:
        return caller.service_principal in as_list(principal.get("Service", []))
    accounts = as_list(principal.get("AWS", []))
    return "*" in accounts or any(
        account in {caller.account_id, f"arn:aws:iam::{caller.account_id}:root"}
        for account in accounts
    )


def conditions_met(conditions: dict[str, dict[str, Any]], caller: Caller) -> bool:
    """The conditions Lambda's AddPermission writes; any other condition is not met."""
    known = {
        "aws:sourcearn": caller.source_arn,
        "aws:sourceaccount": caller.account_id,
        "lambda:functionurlauthtype": "AWS_IAM",
    }
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            actual = known.get(key.lower())
            if actual is None:
                return False
            if operator in {"StringEquals", "ArnEquals"}:
                met = actual in as_list(wanted)
            elif operator in {"StringLike", "ArnLike"}:
                met = any(fnmatchcase(actual, pattern) for pattern in as_list(wanted))
            else:
                met = False
            if not met:
                return False
    return True


def allows(statements: Iterable[dict[str, Any]], caller: Caller, action: str) -> bool:
    return any(
        statement.get("Effect") == "Allow"
        and any(fnmatchcase(action, pattern) for pattern in as_list(statement.get("Action")))
        and names_caller(statement.get("Principal"), caller)
        and conditions_met(statement.get("Condition", {}), caller)
        for statement in statements
    )


def admitted(caller: Caller, function: Any, url_config: Any) -> bool:
    """Whether the function's policy lets ``caller`` invoke it through its URL."""
    if caller.service_principal is None and caller.account_id == function_account(url_config):
        return True
    policy = function.permissions.get(url_config.function_qualifier or "$LATEST")
    statements = policy.policy.Statement if policy else []
    return all(allows(statements, caller, action) for action in URL_ACTIONS)


def function_account(url_config: Any) -> str:
    account: str = url_config.function_arn.split(":")[4]
    return account


def url_target(api_id: str, region: str) -> tuple[Any, Any] | None:
    """The function and URL configuration of a function URL id, as the router looks it up."""
    from localstack.services.lambda_.invocation.models import lambda_stores

    for account_id in list(lambda_stores.keys()):
        store = lambda_stores[account_id][region]
        for function in list(store.functions.values()):
            for url_config in list(function.function_url_configs.values()):
                if url_config.url_id.lower() == api_id.lower():
                    return function, url_config
    return None


def require_aws_iam(handle: Handler) -> Handler:
    """Wraps ``FunctionUrlRouter.handle_lambda_url_invocation``."""

    @functools.wraps(handle)
    def handle_with_aws_iam(
        self: Any, request: Request, api_id: str, region: str, **url_params: str
    ) -> Response:
        target = url_target(api_id, region)
        if target is not None and target[1].auth_type == "AWS_IAM":
            function, url_config = target
            caller = verified_caller(request, region, datetime.now(UTC))
            if caller is None or not admitted(caller, function, url_config):
                LOG.info("Function URL %s: forbidden to %s", url_config.url, caller)
                return forbidden()
        return handle(self, request, api_id, region, **url_params)

    return handle_with_aws_iam
