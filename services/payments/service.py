"""Payments' use case: AuthorizePayment, then CapturePayment or VoidPayment, once each per order.

The ledger holds the order's authorization and a log of every command's outcome. A provider
failure is logged there (committed on its own) and raised: the command and the later ones of its
order wait for the redelivery (transient error) or end in the dead-letter queue (permanent one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.payments import domain
from services.payments.domain import (
    Answer,
    Authorization,
    Operation,
    Outcome,
    PermanentProviderError,
    ProviderError,
    Result,
    authorize,
    capture,
    void,
)
from shared import contracts
from shared.consumer import reply_to
from shared.contracts import AuthorizePayment, CapturePayment, Contract, VoidPayment
from shared.envelope import Envelope
from shared.observability import Telemetry


class Ledger(Protocol):
    def authorization(self, order_id: str) -> Authorization | None: ...

    def failed_attempts(self, order_id: str, operation: Operation) -> int:
        """How many times the provider failed this operation for the order."""
        ...

    def record_failure(
        self,
        order_id: str,
        command_event_id: str,
        operation: Operation,
        result: Result,
        attempt: int,
        detail: str,
    ) -> None:
        """Log a provider failure (kept although the command itself is retried)."""
        ...

    def apply(
        self,
        order_id: str,
        before: Authorization | None,
        outcome: Outcome,
        command_event_id: str,
        attempt: int | None = None,
    ) -> None:
        """Store the authorization after the command and log the outcome, atomically; raise if
        the authorization is no longer ``before``."""
        ...


class PaymentsService:
    accepts = (AuthorizePayment, CapturePayment, VoidPayment)

    def __init__(self, ledger: Ledger, telemetry: Telemetry) -> None:
        self.ledger = ledger
        self.telemetry = telemetry

    def handle(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        order_id = envelope.correlation_id
        before = self.ledger.authorization(order_id)
        attempt: int | None = None
        if isinstance(payload, AuthorizePayment):
            attempt = self.ledger.failed_attempts(order_id, Operation.AUTHORIZE) + 1
            outcome = self._authorize(envelope, before, payload, attempt)
        elif isinstance(payload, CapturePayment):
            outcome = capture(
                before,
                domain.CapturePayment(
                    payload.order_id, payload.authorization_id, money(payload.amount)
                ),
            )
        elif isinstance(payload, VoidPayment):
            outcome = void(before, domain.VoidPayment(payload.order_id, payload.authorization_id))
        else:
            raise TypeError(f"payments does not handle {envelope.type}")
        self.ledger.apply(order_id, before, outcome, str(envelope.event_id), attempt)
        self._report(outcome)
        return [] if outcome.reply is None else [reply_to(envelope, contract_of(outcome.reply))]

    def _authorize(
        self,
        envelope: Envelope,
        before: Authorization | None,
        command: AuthorizePayment,
        attempt: int,
    ) -> Outcome:
        authorize_payment = domain.AuthorizePayment(
            command.order_id, money(command.amount), command.payment_token
        )
        try:
            return authorize(before, authorize_payment, attempt)
        except ProviderError as error:
            result = (
                Result.PERMANENT_ERROR
                if isinstance(error, PermanentProviderError)
                else Result.TRANSIENT_ERROR
            )
            self.ledger.record_failure(
                command.order_id,
                str(envelope.event_id),
                Operation.AUTHORIZE,
                result,
                attempt,
                str(error),
            )
            self.telemetry.count("ProviderErrors")
            raise

    def _report(self, outcome: Outcome) -> None:
        message = f"{outcome.operation.value}: {outcome.result.value} ({outcome.detail})"
        if outcome.result is Result.REJECTED:
            self.telemetry.warning(message)
            self.telemetry.count("PaymentCommandsRejected")
        else:
            self.telemetry.info(message)
            self.telemetry.count(f"Payments{outcome.result.value.capitalize()}")


def money(amount: contracts.Money) -> domain.Money:
    return domain.Money(amount.amount, amount.currency)


def contract_of(answer: Answer) -> Contract:
    """The wire reply of an answer of the domain."""
    match answer:
        case domain.PaymentAuthorized(order_id, authorization_id, amount):
            return contracts.PaymentAuthorized(
                order_id=order_id, authorization_id=authorization_id, amount=wire_money(amount)
            )
        case domain.PaymentDeclined(order_id, reason):
            return contracts.PaymentDeclined(order_id=order_id, reason=reason)
        case domain.PaymentCaptured(order_id, authorization_id, amount):
            return contracts.PaymentCaptured(
                order_id=order_id, authorization_id=authorization_id, amount=wire_money(amount)
            )
        case domain.PaymentVoided(order_id, authorization_id):
            return contracts.PaymentVoided(order_id=order_id, authorization_id=authorization_id)


def wire_money(amount: domain.Money) -> contracts.Money:
    return contracts.Money(amount=amount.amount, currency=amount.currency)
