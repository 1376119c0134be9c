"""Whose fault an AWS failure is: the classification the publishers share."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from services.orders.adapters.aws_errors import Fault, fault_of, fault_of_code


def client_error(code: str, status: int, kind: str = "Sender") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m", "Type": kind},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PublishBatch",
    )


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (client_error("Throttling", 400), Fault.TRANSIENT),
        (client_error("ThrottlingException", 400), Fault.TRANSIENT),
        (client_error("TooManyRequestsException", 429), Fault.TRANSIENT),
        (client_error("InternalError", 500, "Receiver"), Fault.TRANSIENT),
        (client_error("ServiceUnavailable", 503, "Receiver"), Fault.TRANSIENT),
        (client_error("SomethingNew", 502, "Receiver"), Fault.TRANSIENT),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), Fault.TRANSIENT),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), Fault.TRANSIENT),
        (client_error("InvalidParameter", 400), Fault.REQUEST),
        (client_error("InvalidParameterValue", 400), Fault.REQUEST),
        (client_error("ValidationException", 400), Fault.REQUEST),
        (client_error("BatchRequestTooLong", 400), Fault.REQUEST),
        (ParamValidationError(report="MessageGroupId missing"), Fault.REQUEST),
        (client_error("NotFound", 404), Fault.SETUP),
        (client_error("AWS.SimpleQueueService.NonExistentQueue", 400), Fault.SETUP),
        (client_error("ResourceNotFoundException", 400), Fault.SETUP),
        (client_error("AuthorizationError", 403), Fault.SETUP),
        (client_error("AccessDeniedException", 400), Fault.SETUP),
        (client_error("SomethingNew", 400), Fault.SETUP),
        (NoCredentialsError(), Fault.SETUP),
    ],
)
def test_a_calls_error_is_the_services_the_requests_or_the_setups(
    error: Exception, fault: Fault
) -> None:
    assert fault_of(error) is fault


@pytest.mark.parametrize(
    ("code", "sender_fault", "fault"),
    [
        ("InternalError", False, Fault.TRANSIENT),
        ("ThrottlingException", None, Fault.TRANSIENT),
        ("InternalFailure", None, Fault.TRANSIENT),
        ("InvalidParameter", True, Fault.REQUEST),
        ("InvalidMessageContents", None, Fault.REQUEST),
        ("MalformedDetail", None, Fault.REQUEST),
        ("ValidationException", None, Fault.REQUEST),
        ("SomeSenderProblem", True, Fault.REQUEST),
        ("NotFoundException", None, Fault.SETUP),
        ("SomethingNew", None, Fault.TRANSIENT),
        (None, None, Fault.TRANSIENT),
    ],
)
def test_an_entrys_failure_is_classified_by_its_code_and_sender_fault(
    code: str | None, sender_fault: bool | None, fault: Fault
) -> None:
    assert fault_of_code(code, sender_fault) is fault
