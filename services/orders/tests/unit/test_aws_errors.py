"""Transient or permanent: the classification of AWS failures the relay and the worker share."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from services.orders.adapters.aws_errors import is_transient, is_transient_code


def client_error(code: str, status: int, kind: str = "Sender") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m", "Type": kind},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PublishBatch",
    )


@pytest.mark.parametrize(
    "error",
    [
        client_error("Throttling", 400),
        client_error("ThrottlingException", 400),
        client_error("TooManyRequestsException", 429),
        client_error("InternalError", 500, "Receiver"),
        client_error("ServiceUnavailable", 503, "Receiver"),
        client_error("SomethingNew", 502, "Receiver"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_throttling_server_errors_and_the_network_are_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        client_error("InvalidParameter", 400),
        client_error("InvalidParameterValue", 400),
        client_error("ValidationException", 400),
        client_error("BatchRequestTooLong", 400),
        client_error("NotFound", 404),
        client_error("AWS.SimpleQueueService.NonExistentQueue", 400),
        client_error("AuthorizationError", 403),
        ParamValidationError(report="MessageGroupId missing"),
    ],
)
def test_what_the_request_did_wrong_is_permanent(error: Exception) -> None:
    assert not is_transient(error)


@pytest.mark.parametrize(
    ("code", "sender_fault", "transient"),
    [
        ("InternalError", False, True),
        ("ThrottlingException", None, True),
        ("InternalFailure", None, True),
        ("InvalidParameter", True, False),
        ("InvalidMessageContents", None, False),
        ("MalformedDetail", None, False),
        ("ValidationException", None, False),
        ("SomeSenderProblem", True, False),
        ("SomethingNew", None, True),
        (None, None, True),
    ],
)
def test_entry_failures_are_classified_by_code_and_sender_fault(
    code: str | None, sender_fault: bool | None, transient: bool
) -> None:
    assert is_transient_code(code, sender_fault) is transient
