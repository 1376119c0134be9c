"""Which AWS failures are worth retrying: the one place that tells transient from permanent.

Transient (the service or the path to it, retry with backoff): throttling, 5xx and internal
errors, connection errors and timeouts. Permanent (the request itself, retrying the same request
fails the same way): validation, a message too large, a missing or forbidden resource, and any
other error the caller caused (a 4xx, or an entry failure with ``SenderFault``).
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectionError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

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

TRANSIENT_BOTOCORE_ERRORS = (
    ConnectionError,
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    HTTPClientError,
)


def is_transient_code(code: str | None, sender_fault: bool | None = None) -> bool:
    """Whether an error ``code`` (of a whole call, or of one entry of a batch) is transient.
    An unknown code is transient unless the service says the sender is at fault."""
    if code in TRANSIENT_CODES:
        return True
    return sender_fault is not True and not _looks_permanent(code)


def is_transient(error: BaseException) -> bool:
    """Whether a botocore exception is transient (see the module docstring)."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code")
        if code in TRANSIENT_CODES:
            return True
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if status >= 500 or status == 429:
            return True
        if 400 <= status < 500:
            return False
        return is_transient_code(code, details.get("Type") == "Sender" or None)
    if isinstance(error, TRANSIENT_BOTOCORE_ERRORS):
        return True
    # Other BotoCoreErrors are raised before a request is sent (a bad parameter, say): they
    # fail the same way every time.
    return not isinstance(error, BotoCoreError)


_PERMANENT_MARKERS = (
    "Validation",
    "InvalidParameter",
    "InvalidArgument",
    "InvalidMessageContents",
    "TooLong",
    "TooLarge",
    "TooMany",
    "NotFound",
    "NonExistent",
    "DoesNotExist",
    "AccessDenied",
    "Unauthorized",
    "Forbidden",
    "Malformed",
    "Unsupported",
    "Duplicate",
    "EmptyBatchRequest",
    "Invalid",
)


def _looks_permanent(code: str | None) -> bool:
    return code is not None and any(marker in code for marker in _PERMANENT_MARKERS)
