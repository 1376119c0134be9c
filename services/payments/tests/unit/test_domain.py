"""The fake provider's outcomes by card token, and authorize -> capture | void, once each."""

from __future__ import annotations

import pytest

from services.payments.domain import (
    Authorization,
    AuthorizationStatus,
    AuthorizePayment,
    CapturePayment,
    Money,
    Operation,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDeclined,
    PaymentVoided,
    PermanentProviderError,
    Result,
    TransientProviderError,
    VoidPayment,
    authorization_id_for,
    authorize,
    capture,
    provider_decision,
    void,
)

TOTAL = Money(amount=4200, currency="EUR")


def authorize_command(token: str = "tok_approve", order_id: str = "o1") -> AuthorizePayment:
    return AuthorizePayment(order_id=order_id, amount=TOTAL, payment_token=token)


def authorized(order_id: str = "o1") -> Authorization:
    return Authorization(
        order_id, authorization_id_for(order_id), AuthorizationStatus.AUTHORIZED, TOTAL
    )


def test_an_approved_card_is_authorized_with_an_id_stable_per_order() -> None:
    outcome = authorize(None, authorize_command(), attempt=1)
    assert outcome.result is Result.AUTHORIZED
    assert outcome.authorization == authorized()
    assert outcome.reply == PaymentAuthorized(
        order_id="o1", authorization_id=authorization_id_for("o1"), amount=TOTAL
    )
    assert authorization_id_for("o1") != authorization_id_for("o2")


def test_insufficient_funds_is_declined_with_the_reason() -> None:
    outcome = authorize(None, authorize_command("tok_insufficient_funds"), attempt=1)
    assert outcome.result is Result.DECLINED
    assert outcome.authorization is not None
    assert outcome.authorization.status is AuthorizationStatus.DECLINED
    assert outcome.reply == PaymentDeclined(order_id="o1", reason="insufficient funds")


def test_an_unknown_card_is_declined() -> None:
    outcome = authorize(None, authorize_command("tok_visa_4242"), attempt=1)
    assert outcome.reply == PaymentDeclined(order_id="o1", reason="unknown test card")


def test_a_transient_error_fails_the_first_attempt_only() -> None:
    with pytest.raises(TransientProviderError, match="attempt 1"):
        authorize(None, authorize_command("tok_transient_error"), attempt=1)
    assert authorize(None, authorize_command("tok_transient_error"), attempt=2).result is (
        Result.AUTHORIZED
    )


@pytest.mark.parametrize("attempt", [1, 2, 5])
def test_a_permanent_error_fails_every_attempt(attempt: int) -> None:
    with pytest.raises(PermanentProviderError):
        provider_decision("tok_permanent_error", attempt)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="count from 1"):
        provider_decision("tok_approve", 0)


def test_a_repeated_authorization_answers_as_before_without_asking_the_provider() -> None:
    declined = Authorization(
        "o1", authorization_id_for("o1"), AuthorizationStatus.DECLINED, TOTAL, "insufficient funds"
    )
    repeated = authorize(declined, authorize_command("tok_permanent_error"), attempt=3)
    assert (repeated.result, repeated.authorization) == (Result.REPEATED, declined)
    assert repeated.reply == PaymentDeclined(order_id="o1", reason="insufficient funds")


def test_capture_then_capture_again_charges_once() -> None:
    command = CapturePayment(
        order_id="o1", authorization_id=authorization_id_for("o1"), amount=TOTAL
    )
    first = capture(authorized(), command)
    assert first.result is Result.CAPTURED
    assert first.authorization is not None
    assert first.authorization.status is AuthorizationStatus.CAPTURED
    assert first.reply == PaymentCaptured(
        order_id="o1", authorization_id=authorization_id_for("o1"), amount=TOTAL
    )
    again = capture(first.authorization, command)
    assert (again.result, again.authorization, again.reply) == (
        Result.REPEATED,
        first.authorization,
        first.reply,
    )


def test_a_capture_above_the_authorized_amount_is_rejected() -> None:
    command = CapturePayment(
        order_id="o1",
        authorization_id=authorization_id_for("o1"),
        amount=Money(amount=4201, currency="EUR"),
    )
    outcome = capture(authorized(), command)
    assert (outcome.result, outcome.authorization, outcome.reply) == (
        Result.REJECTED,
        authorized(),
        None,
    )
    assert "exceeds the authorized 4200 EUR" in outcome.detail


def test_void_then_void_again_releases_once_and_capture_after_void_is_rejected() -> None:
    auth_id = authorization_id_for("o1")
    first = void(authorized(), VoidPayment(order_id="o1", authorization_id=auth_id))
    assert first.result is Result.VOIDED
    assert first.reply == PaymentVoided(order_id="o1", authorization_id=auth_id)
    assert first.authorization is not None
    again = void(first.authorization, VoidPayment(order_id="o1", authorization_id=auth_id))
    assert again.result is Result.REPEATED
    late_capture = capture(
        first.authorization, CapturePayment(order_id="o1", authorization_id=auth_id, amount=TOTAL)
    )
    assert (late_capture.result, late_capture.reply) == (Result.REJECTED, None)
    assert late_capture.detail == "authorization is voided"


def test_void_after_capture_is_rejected() -> None:
    captured = Authorization("o1", authorization_id_for("o1"), AuthorizationStatus.CAPTURED, TOTAL)
    outcome = void(captured, VoidPayment(order_id="o1", authorization_id=captured.authorization_id))
    assert (outcome.operation, outcome.result, outcome.reply) == (
        Operation.VOID,
        Result.REJECTED,
        None,
    )


@pytest.mark.parametrize("existing", [None, authorized("o1")])
def test_capture_or_void_of_an_unknown_authorization_is_rejected_without_reply(
    existing: Authorization | None,
) -> None:
    for outcome in (
        capture(existing, CapturePayment(order_id="o1", authorization_id="auth_x", amount=TOTAL)),
        void(existing, VoidPayment(order_id="o1", authorization_id="auth_x")),
    ):
        assert (outcome.result, outcome.authorization, outcome.reply) == (
            Result.REJECTED,
            existing,
            None,
        )
        assert outcome.detail == "unknown authorization 'auth_x' for order o1"
