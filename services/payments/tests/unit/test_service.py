"""The payments use case on a ledger kept in memory: replies, the log, provider failures."""

from __future__ import annotations

import pytest

from services.payments.domain import (
    Authorization,
    Operation,
    Outcome,
    Result,
    TransientProviderError,
    authorization_id_for,
)
from services.payments.service import PaymentsService
from shared.contracts import (
    AuthorizePayment,
    CapturePayment,
    Contract,
    Money,
    VoidPayment,
    envelope_for,
    payload_of,
)
from shared.envelope import Envelope
from shared.tests.telemetry import RecordingTelemetry

TOTAL = Money(amount=2599, currency="EUR")


class FakeLedger:
    def __init__(self) -> None:
        self.authorizations: dict[str, Authorization] = {}
        self.log: list[tuple[str, Operation, Result, int | None]] = []

    def authorization(self, order_id: str) -> Authorization | None:
        return self.authorizations.get(order_id)

    def failed_attempts(self, order_id: str, operation: Operation) -> int:
        failed = (Result.TRANSIENT_ERROR, Result.PERMANENT_ERROR)
        return sum(
            1 for entry in self.log if entry[:2] == (order_id, operation) and entry[2] in failed
        )

    def record_failure(
        self,
        order_id: str,
        command_event_id: str,
        operation: Operation,
        result: Result,
        attempt: int,
        detail: str,
    ) -> None:
        self.log.append((order_id, operation, result, attempt))

    def apply(
        self,
        order_id: str,
        before: Authorization | None,
        outcome: Outcome,
        command_event_id: str,
        attempt: int | None = None,
    ) -> None:
        assert self.authorizations.get(order_id) == before
        if outcome.authorization is not None:
            self.authorizations[order_id] = outcome.authorization
        self.log.append((order_id, outcome.operation, outcome.result, attempt))

    def results(self, order_id: str) -> list[tuple[Operation, Result]]:
        return [
            (operation, result) for order, operation, result, _ in self.log if order == order_id
        ]


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def telemetry() -> RecordingTelemetry:
    return RecordingTelemetry()


@pytest.fixture
def service(ledger: FakeLedger, telemetry: RecordingTelemetry) -> PaymentsService:
    return PaymentsService(ledger, telemetry)


def command(payload: Contract) -> Envelope:
    return envelope_for(payload)


def authorize(order_id: str, token: str = "tok_approve") -> Envelope:
    return command(
        AuthorizePayment(
            order_id=order_id, amount=TOTAL, customer_email="ada@example.com", payment_token=token
        )
    )


def handle(service: PaymentsService, envelope: Envelope) -> list[tuple[str, dict[str, object]]]:
    replies = service.handle(envelope, payload_of(envelope))
    assert all(reply.causation_id == envelope.event_id for reply in replies)
    return [(reply.type, reply.payload) for reply in replies]


def test_authorize_then_capture_replies_to_each_with_the_wire_schemas(
    service: PaymentsService, ledger: FakeLedger, telemetry: RecordingTelemetry
) -> None:
    auth_id = authorization_id_for("o1")
    amount = {"amount": 2599, "currency": "EUR"}

    assert handle(service, authorize("o1")) == [
        ("PaymentAuthorized", {"order_id": "o1", "authorization_id": auth_id, "amount": amount})
    ]
    captured = command(CapturePayment(order_id="o1", authorization_id=auth_id, amount=TOTAL))
    assert handle(service, captured) == [
        ("PaymentCaptured", {"order_id": "o1", "authorization_id": auth_id, "amount": amount})
    ]
    assert ledger.results("o1") == [
        (Operation.AUTHORIZE, Result.AUTHORIZED),
        (Operation.CAPTURE, Result.CAPTURED),
    ]
    assert telemetry.counts == {"PaymentsAuthorized": 1, "PaymentsCaptured": 1}


def test_a_decline_and_a_void_are_answered(service: PaymentsService) -> None:
    assert handle(service, authorize("poor", "tok_insufficient_funds")) == [
        ("PaymentDeclined", {"order_id": "poor", "reason": "insufficient funds"})
    ]
    handle(service, authorize("o1"))
    voided = command(VoidPayment(order_id="o1", authorization_id=authorization_id_for("o1")))
    assert handle(service, voided) == [
        ("PaymentVoided", {"order_id": "o1", "authorization_id": authorization_id_for("o1")})
    ]


def test_a_provider_failure_is_logged_and_raised_and_the_retry_counts_the_attempt(
    service: PaymentsService, ledger: FakeLedger, telemetry: RecordingTelemetry
) -> None:
    flaky = authorize("o1", "tok_transient_error")

    with pytest.raises(TransientProviderError):
        handle(service, flaky)
    assert [reply for reply, _ in handle(service, flaky)] == ["PaymentAuthorized"]

    assert [(result, attempt) for _, _, result, attempt in ledger.log] == [
        (Result.TRANSIENT_ERROR, 1),
        (Result.AUTHORIZED, 2),
    ]
    assert telemetry.counts["ProviderErrors"] == 1


def test_a_capture_of_an_unknown_authorization_is_logged_as_rejected_without_reply(
    service: PaymentsService, ledger: FakeLedger, telemetry: RecordingTelemetry
) -> None:
    forged = command(CapturePayment(order_id="o1", authorization_id="auth_x", amount=TOTAL))

    assert handle(service, forged) == []

    assert ledger.results("o1") == [(Operation.CAPTURE, Result.REJECTED)]
    assert telemetry.messages("WARNING") == [
        "capture: rejected (unknown authorization 'auth_x' for order o1)"
    ]
    assert telemetry.counts == {"PaymentCommandsRejected": 1}
