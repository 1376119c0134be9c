"""Whose fault an AWS failure is: the one place that tells transient from permanent errors.

- ``TRANSIENT``: the service or the path to it (throttling, 5xx and internal errors, connection
  errors, timeouts). Retry the same request with backoff.
- ``REQUEST``: the request's content (validation, an invalid parameter, a message or batch too
  large). The same request fails the same way: a record at fault is rejected (and parked).
- ``SETUP``: the deployment, not the request (missing credentials, access denied, a topic, queue
  or bus that does not exist). Permanent until someone fixes it, and every request fails alike,
  so it is treated as the broker being unavailable: nothing is rejected, the caller backs off.

A call's error this module does not know is ``SETUP`` (a 4xx) or ``TRANSIENT``: an unknown error
of a whole call never gets a record parked. An entry of a batch that failed with a code it does
not know is the entry's fault when the service says so (``SenderFault``), since the other
entries of the same call went through.
"""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectionError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)


class Fault(StrEnum):
    TRANSIENT = "transient"
    REQUEST = "request"
    SETUP = "setup"


TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "InternalError",
        "InternalFailure",
        "InternalException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSThrottlingException",
        "KMSInternalException",
    }
)
"""Error codes of throttling and of the service's own failures (entry and call errors alike)."""

SETUP_MARKERS = (
    "NotFound",
    "NonExistent",
    "DoesNotExist",
    "AccessDenied",
    "Authorization",
    "Unauthorized",
    "Forbidden",
    "Credential",
    "Signature",
    "Token",
    "KMSDisabled",
    "KMSNotFound",
    "KMSAccessDenied",
    "KMSInvalidState",
)
REQUEST_MARKERS = (
    "Validation",
    "Invalid",
    "TooLong",
    "TooLarge",
    "TooMany",
    "Malformed",
    "Unsupported",
    "Duplicate",
    "EmptyBatchRequest",
    "MissingParameter",
)

TRANSIENT_BOTOCORE_ERRORS = (
    ConnectionError,
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    HTTPClientError,
)


def fault_of_code(code: str | None, sender_fault: bool | None = None) -> Fault:
    """Whose fault an error ``code`` is (of a whole call, or of one entry of a batch). A code
    this module does not know is the request's when the service says the sender is at fault,
    else transient."""
    if code in TRANSIENT_CODES:
        return Fault.TRANSIENT
    if code is not None and any(marker in code for marker in SETUP_MARKERS):
        return Fault.SETUP
    if code is not None and any(marker in code for marker in REQUEST_MARKERS):
        return Fault.REQUEST
    return Fault.REQUEST if sender_fault is True else Fault.TRANSIENT


def fault_of(error: BaseException) -> Fault:
    """Whose fault a botocore exception is (see the module docstring)."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            return Fault.TRANSIENT
        known = fault_of_code(code)
        return Fault.SETUP if known is Fault.TRANSIENT and 400 <= status < 500 else known
    if isinstance(error, TRANSIENT_BOTOCORE_ERRORS):
        return Fault.TRANSIENT
    if isinstance(error, ParamValidationError):
        return Fault.REQUEST
    return Fault.SETUP
