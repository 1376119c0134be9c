"""Payment rules and the fake provider: authorize, then capture or void, once each.

Pure: the service reads the order's authorization, asks these functions for the outcome of a
command, and stores the outcome (and the reply) in one transaction. The fake provider answers
by test card token, deterministically:

- ``tok_approve``: authorized;
- ``tok_insufficient_funds``: declined, "insufficient funds";
- ``tok_transient_error``: a transient error on the first attempt, authorized on the next;
- ``tok_permanent_error``: a permanent error on every attempt (the command ends in the DLQ);
- any other token: declined, "unknown test card".

A capture or void that names no known authorization of the order, or one in a state that does
not allow it (void after capture, capture after void, capture above the authorized amount), is
rejected: recorded, logged, and not answered, since there is no reply type for it and the
orders service only ever sends these after PaymentAuthorized.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

AUTHORIZATION_IDS = uuid.UUID("8f0c4d1e-5b7a-4c39-9a51-2f6f5d0c7e11")


class CardToken(StrEnum):
    APPROVE = "tok_approve"
    INSUFFICIENT_FUNDS = "tok_insufficient_funds"
    TRANSIENT_ERROR = "tok_transient_error"
    PERMANENT_ERROR = "tok_permanent_error"


class ProviderError(RuntimeError):
    """The provider did not answer; nothing was authorized."""


class TransientProviderError(ProviderError):
    """Worth retrying: the message is delivered again."""


class PermanentProviderError(ProviderError):
    """Never succeeds: the message ends in the dead-letter queue."""


class Operation(StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"


class AuthorizationStatus(StrEnum):
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    VOIDED = "voided"


class Result(StrEnum):
    """What one command did, as recorded in the operations log."""

    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    VOIDED = "voided"
    REPEATED = "repeated"
    """Already done: the earlier answer is given again, nothing is charged twice."""
    REJECTED = "rejected"
    TRANSIENT_ERROR = "transient error"
    PERMANENT_ERROR = "permanent error"


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    """In minor units of the currency."""
    currency: str


@dataclass(frozen=True, slots=True)
class AuthorizePayment:
    order_id: str
    amount: Money
    payment_token: str


@dataclass(frozen=True, slots=True)
class CapturePayment:
    order_id: str
    authorization_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class VoidPayment:
    order_id: str
    authorization_id: str


@dataclass(frozen=True, slots=True)
class PaymentAuthorized:
    order_id: str
    authorization_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class PaymentDeclined:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PaymentCaptured:
    order_id: str
    authorization_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class PaymentVoided:
    order_id: str
    authorization_id: str


Answer = PaymentAuthorized | PaymentDeclined | PaymentCaptured | PaymentVoided
"""What the payments service replies to a command (when it replies)."""


@dataclass(frozen=True, slots=True)
class Authorization:
    order_id: str
    authorization_id: str
    status: AuthorizationStatus
    amount: Money
    decline_reason: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A command's effect: the authorization after it (``None``: none exists), the reply."""

    operation: Operation
    result: Result
    detail: str
    authorization: Authorization | None
    reply: Answer | None


def authorization_id_for(order_id: str) -> str:
    """The provider's id of an order's authorization (one per order, the same on retry)."""
    return f"auth_{uuid.uuid5(AUTHORIZATION_IDS, order_id).hex[:24]}"


def provider_decision(token: str, attempt: int) -> str | None:
    """The fake provider: ``None`` when it authorizes, else the decline reason; raises
    ``ProviderError`` when it fails. ``attempt`` counts from 1."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    match token:
        case CardToken.APPROVE:
            return None
        case CardToken.INSUFFICIENT_FUNDS:
            return "insufficient funds"
        case CardToken.TRANSIENT_ERROR if attempt == 1:
            raise TransientProviderError(f"provider unavailable (attempt {attempt})")
        case CardToken.TRANSIENT_ERROR:
            return None
        case CardToken.PERMANENT_ERROR:
            raise PermanentProviderError(f"provider refuses the card (attempt {attempt})")
        case _:
            return "unknown test card"


def authorize(existing: Authorization | None, command: AuthorizePayment, attempt: int) -> Outcome:
    """Authorize the order's amount once; a repeated command gets the first answer again."""
    if existing is not None:
        return Outcome(
            Operation.AUTHORIZE,
            Result.REPEATED,
            f"already {existing.status.value}",
            existing,
            _authorization_answer(existing),
        )
    reason = provider_decision(command.payment_token, attempt)
    status = AuthorizationStatus.DECLINED if reason else AuthorizationStatus.AUTHORIZED
    authorization = Authorization(
        order_id=command.order_id,
        authorization_id=authorization_id_for(command.order_id),
        status=status,
        amount=command.amount,
        decline_reason=reason or "",
    )
    return Outcome(
        Operation.AUTHORIZE,
        Result(status.value),
        reason or f"attempt {attempt}",
        authorization,
        _authorization_answer(authorization),
    )


def capture(existing: Authorization | None, command: CapturePayment) -> Outcome:
    """Capture an authorized amount (at most what was authorized), once."""
    if existing is None or existing.authorization_id != command.authorization_id:
        return _unknown(Operation.CAPTURE, existing, command.order_id, command.authorization_id)
    captured = PaymentCaptured(
        order_id=command.order_id,
        authorization_id=command.authorization_id,
        amount=command.amount,
    )
    match existing.status:
        case AuthorizationStatus.CAPTURED:
            return Outcome(
                Operation.CAPTURE, Result.REPEATED, "already captured", existing, captured
            )
        case AuthorizationStatus.AUTHORIZED if not _within(command.amount, existing.amount):
            return _rejected(
                Operation.CAPTURE,
                existing,
                f"capture of {_money(command.amount)} exceeds the authorized "
                f"{_money(existing.amount)}",
            )
        case AuthorizationStatus.AUTHORIZED:
            after = replace(existing, status=AuthorizationStatus.CAPTURED)
            return Outcome(
                Operation.CAPTURE, Result.CAPTURED, _money(command.amount), after, captured
            )
        case _:
            return _rejected(Operation.CAPTURE, existing, f"authorization is {existing.status}")


def void(existing: Authorization | None, command: VoidPayment) -> Outcome:
    """Release an authorization that was not captured, once."""
    if existing is None or existing.authorization_id != command.authorization_id:
        return _unknown(Operation.VOID, existing, command.order_id, command.authorization_id)
    voided = PaymentVoided(order_id=command.order_id, authorization_id=command.authorization_id)
    match existing.status:
        case AuthorizationStatus.VOIDED:
            return Outcome(Operation.VOID, Result.REPEATED, "already voided", existing, voided)
        case AuthorizationStatus.AUTHORIZED:
            after = replace(existing, status=AuthorizationStatus.VOIDED)
            return Outcome(Operation.VOID, Result.VOIDED, _money(existing.amount), after, voided)
        case _:
            return _rejected(Operation.VOID, existing, f"authorization is {existing.status}")


def _authorization_answer(authorization: Authorization) -> Answer:
    if authorization.status is AuthorizationStatus.DECLINED:
        return PaymentDeclined(order_id=authorization.order_id, reason=authorization.decline_reason)
    return PaymentAuthorized(
        order_id=authorization.order_id,
        authorization_id=authorization.authorization_id,
        amount=authorization.amount,
    )


def _unknown(
    operation: Operation, existing: Authorization | None, order_id: str, authorization_id: str
) -> Outcome:
    return _rejected(
        operation, existing, f"unknown authorization {authorization_id!r} for order {order_id}"
    )


def _rejected(operation: Operation, existing: Authorization | None, detail: str) -> Outcome:
    return Outcome(operation, Result.REJECTED, detail, existing, None)


def _within(requested: Money, authorized: Money) -> bool:
    return requested.currency == authorized.currency and requested.amount <= authorized.amount


def _money(money: Money) -> str:
    return f"{money.amount} {money.currency}"
