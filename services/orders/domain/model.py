"""The order aggregate as two pure functions: ``decide`` what happens, ``evolve`` the state.

The state of an order is the fold of its events with ``evolve``. ``decide`` answers a command
or a reply from another service with the events to append (and the payment commands to send),
without changing anything itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from services.orders.domain.commands import (
    ApproveReview,
    CancelOrder,
    OrderCommand,
    PlaceOrder,
    RejectReview,
)
from services.orders.domain.events import (
    AuthorizePayment,
    CapturePayment,
    Event,
    FraudCheckPassed,
    FraudCheckSkipped,
    InventoryRejected,
    InventoryReserved,
    LateReplyIgnored,
    OrderCancelled,
    OrderConfirmed,
    OrderFlaggedForReview,
    OrderLine,
    OrderPlaced,
    OrderPutOnHold,
    OrderReviewApproved,
    OrderReviewRejected,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCommand,
    PaymentDeclined,
    PaymentVoided,
    Reply,
    VoidPayment,
)
from services.orders.domain.money import KNOWN_CURRENCIES, Money

_ISO_3166_ALPHA_2 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES: frozenset[str] = frozenset(_ISO_3166_ALPHA_2.split())

PAYMENT_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
EMAIL_PATTERN = re.compile(
    r"[^@\s]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
MAX_EMAIL_LENGTH = 254

EMPTY_CATALOGUE: Mapping[str, Money] = MappingProxyType({})


class DomainError(Exception):
    """A command the order cannot accept in its current state."""


class InvalidOrder(DomainError, ValueError):
    """An order that breaks an invariant; ``problems`` names every broken rule."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid order: " + "; ".join(self.problems))


class OrderNotPlaced(DomainError):
    pass


class OrderAlreadyPlaced(DomainError):
    pass


class OrderAlreadyConfirmed(DomainError):
    pass


class ReviewNotPending(DomainError):
    pass


class WrongOrder(DomainError):
    pass


class OrderStatus(StrEnum):
    NEW = "new"
    AWAITING_REPLIES = "awaiting_replies"
    ON_HOLD = "on_hold"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class StockStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    REJECTED = "rejected"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    VOIDED = "voided"


class FraudStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    SKIPPED = "skipped"
    FLAGGED = "flagged"
    APPROVED = "approved"
    REJECTED = "rejected"


FINAL_STATUSES = frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED})
CLEAR_VERDICTS = frozenset({FraudStatus.PASSED, FraudStatus.SKIPPED, FraudStatus.APPROVED})


@dataclass(frozen=True, slots=True)
class OrderState:
    order_id: str = ""
    status: OrderStatus = OrderStatus.NEW
    version: int = 0
    total: Money | None = None
    stock: StockStatus = StockStatus.PENDING
    payment: PaymentStatus = PaymentStatus.PENDING
    fraud: FraudStatus = FraudStatus.PENDING
    authorization_id: str | None = None
    void_requested: bool = False
    cancel_reason: str | None = None
    seen_replies: frozenset[str] = frozenset()

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


Message = OrderCommand | Reply
Decision = list[Event | PaymentCommand]


def evolve(state: OrderState, event: Event) -> OrderState:
    """The state after ``event``; applies facts, never checks rules."""
    state = replace(state, version=state.version + 1)
    match event:
        case OrderPlaced():
            return replace(
                state,
                order_id=event.order_id,
                status=OrderStatus.AWAITING_REPLIES,
                total=event.total,
            )
        case InventoryReserved():
            return _seen(replace(state, stock=StockStatus.RESERVED), event)
        case InventoryRejected():
            return _seen(replace(state, stock=StockStatus.REJECTED), event)
        case PaymentAuthorized():
            authorized = replace(
                state, payment=PaymentStatus.AUTHORIZED, authorization_id=event.authorization_id
            )
            return _seen(authorized, event)
        case PaymentDeclined():
            return _seen(replace(state, payment=PaymentStatus.DECLINED), event)
        case PaymentCaptured():
            return _seen(replace(state, payment=PaymentStatus.CAPTURED), event)
        case PaymentVoided():
            return _seen(replace(state, payment=PaymentStatus.VOIDED), event)
        case FraudCheckPassed():
            return _seen(replace(state, fraud=FraudStatus.PASSED), event)
        case FraudCheckSkipped():
            return _seen(replace(state, fraud=FraudStatus.SKIPPED), event)
        case OrderFlaggedForReview():
            return _seen(replace(state, fraud=FraudStatus.FLAGGED), event)
        case OrderPutOnHold():
            return replace(state, status=OrderStatus.ON_HOLD)
        case OrderReviewApproved():
            return replace(state, status=OrderStatus.AWAITING_REPLIES, fraud=FraudStatus.APPROVED)
        case OrderReviewRejected():
            return replace(state, fraud=FraudStatus.REJECTED)
        case OrderConfirmed():
            return replace(state, status=OrderStatus.CONFIRMED)
        case OrderCancelled():
            return replace(
                state,
                status=OrderStatus.CANCELLED,
                cancel_reason=event.reason,
                void_requested=state.payment is PaymentStatus.AUTHORIZED,
            )
        case LateReplyIgnored():
            late_authorization = event.reply_type == PaymentAuthorized.__name__
            return replace(
                state,
                seen_replies=state.seen_replies | {event.reply_type},
                void_requested=state.void_requested or late_authorization,
            )
    raise TypeError(f"not an order event: {event!r}")


def fold(events: Iterable[Event], state: OrderState | None = None) -> OrderState:
    """The state of an order from its events."""
    current = state if state is not None else OrderState()
    for event in events:
        current = evolve(current, event)
    return current


def decide(
    message: Message, state: OrderState, *, catalogue: Mapping[str, Money] = EMPTY_CATALOGUE
) -> Decision:
    """What ``message`` causes for an order in ``state``: events to append, commands to send.

    Raises ``DomainError`` for a command the order refuses; a reply never raises.
    """
    if state.order_id and message.order_id != state.order_id:
        raise WrongOrder(f"message for order {message.order_id!r} sent to {state.order_id!r}")
    if isinstance(message, PlaceOrder):
        if state.status is not OrderStatus.NEW:
            raise OrderAlreadyPlaced(f"order {message.order_id!r} has already been placed")
        placed = place(message, catalogue)
        return [
            placed,
            AuthorizePayment(
                placed.order_id, placed.total, placed.customer_email, message.payment_token
            ),
        ]
    if state.status is OrderStatus.NEW:
        raise OrderNotPlaced(f"order {message.order_id!r} has not been placed")
    match message:
        case CancelOrder():
            return _cancel_by_customer(message, state)
        case ApproveReview():
            return _approve(message, state)
        case RejectReview():
            return _reject(message, state)
    return _on_reply(message, state)


def place(command: PlaceOrder, catalogue: Mapping[str, Money]) -> OrderPlaced:
    """The OrderPlaced event for a valid command, priced from the catalogue."""
    problems: list[str] = []
    if not command.order_id.strip():
        problems.append("order id must not be empty")
    if not PAYMENT_TOKEN.fullmatch(command.payment_token):
        problems.append(
            f"payment token {command.payment_token!r} must be 1-64 letters, digits, '_' or '-'"
        )
    email = command.customer_email
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(email):
        problems.append(f"customer email {email!r} is not a valid e-mail address")
    if command.shipping_country not in COUNTRY_CODES:
        problems.append(
            f"shipping country {command.shipping_country!r} is not an ISO 3166-1 alpha-2 code"
            " such as 'DE'"
        )
    currency_known = command.currency in KNOWN_CURRENCIES
    if not currency_known:
        problems.append(f"currency {command.currency!r} is not a known ISO 4217 code")
    if not command.lines:
        problems.append("an order needs at least one item")
    lines: list[OrderLine] = []
    seen_skus: set[str] = set()
    for number, request in enumerate(command.lines, start=1):
        sku, quantity = request.sku, request.quantity
        if sku in seen_skus:
            problems.append(f"item {number}: sku {sku!r} appears more than once")
        seen_skus.add(sku)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            problems.append(f"item {number}: quantity of {sku!r} must be a positive integer")
        price = catalogue.get(sku)
        if price is None:
            problems.append(f"item {number}: unknown sku {sku!r}")
        elif currency_known and price.currency != command.currency:
            problems.append(
                f"item {number}: {sku!r} is priced in {price.currency}, not {command.currency}"
            )
        elif not problems:
            lines.append(OrderLine(sku, quantity, price))
    if problems:
        raise InvalidOrder(problems)
    total = Money.zero(command.currency)
    for line in lines:
        total += line.subtotal
    return OrderPlaced(
        order_id=command.order_id,
        customer_email=email,
        shipping_country=command.shipping_country,
        lines=tuple(lines),
        total=total,
    )


def _seen(state: OrderState, reply: Reply) -> OrderState:
    return replace(state, seen_replies=state.seen_replies | {type(reply).__name__})


def _cancel_by_customer(command: CancelOrder, state: OrderState) -> Decision:
    if state.status is OrderStatus.CANCELLED:
        return []
    if state.status is OrderStatus.CONFIRMED:
        raise OrderAlreadyConfirmed(
            f"order {state.order_id!r} is confirmed and can no longer be cancelled"
        )
    return _cancellation(state, command.reason)


def _approve(command: ApproveReview, state: OrderState) -> Decision:
    if state.status is OrderStatus.ON_HOLD:
        approved = OrderReviewApproved(state.order_id, command.reviewer)
        return [approved, *_confirmation_if_ready(evolve(state, approved))]
    if state.fraud is FraudStatus.APPROVED:
        return []
    raise ReviewNotPending(f"order {state.order_id!r} is {state.status}, not on hold for review")


def _reject(command: RejectReview, state: OrderState) -> Decision:
    if state.status is OrderStatus.ON_HOLD:
        rejected = OrderReviewRejected(state.order_id, command.reviewer, command.reason)
        return [rejected, *_cancellation(evolve(state, rejected), command.reason)]
    if state.fraud is FraudStatus.REJECTED:
        return []
    raise ReviewNotPending(f"order {state.order_id!r} is {state.status}, not on hold for review")


def _on_reply(reply: Reply, state: OrderState) -> Decision:
    reply_type = type(reply).__name__
    if reply_type in state.seen_replies:
        return []
    if state.is_final:
        return _reply_to_final_order(reply, state)
    unexpected = _why_unexpected(reply, state)
    if unexpected:
        return [LateReplyIgnored(state.order_id, reply_type, unexpected)]
    recorded = evolve(state, reply)
    match reply:
        case InventoryRejected():
            return [reply, *_cancellation(recorded, f"out of stock: {reply.reason}")]
        case PaymentDeclined():
            return [reply, *_cancellation(recorded, f"payment declined: {reply.reason}")]
        case OrderFlaggedForReview():
            reasons = ", ".join(reply.reasons) or f"score {reply.score}"
            return [reply, OrderPutOnHold(state.order_id, f"flagged for review: {reasons}")]
    return [reply, *_confirmation_if_ready(recorded)]


def _why_unexpected(reply: Reply, state: OrderState) -> str:
    match reply:
        case InventoryReserved() | InventoryRejected() if state.stock is not StockStatus.PENDING:
            return f"stock is already {state.stock}"
        case PaymentAuthorized() | PaymentDeclined() if state.payment is not PaymentStatus.PENDING:
            return f"payment is already {state.payment}"
        case PaymentCaptured() | PaymentVoided():
            return f"no capture or void was requested while the order is {state.status}"
        case FraudCheckPassed() | FraudCheckSkipped() | OrderFlaggedForReview() if (
            state.fraud is not FraudStatus.PENDING
        ):
            return f"fraud verdict is already {state.fraud}"
    return ""


def _reply_to_final_order(reply: Reply, state: OrderState) -> Decision:
    reply_type = type(reply).__name__
    match reply:
        case PaymentCaptured() if (
            state.status is OrderStatus.CONFIRMED and state.payment is PaymentStatus.AUTHORIZED
        ):
            return [reply]
        case PaymentVoided() if state.void_requested and state.payment is not PaymentStatus.VOIDED:
            return [reply]
        case PaymentAuthorized() if state.status is OrderStatus.CANCELLED:
            return [
                LateReplyIgnored(
                    state.order_id, reply_type, "order is cancelled; the authorization is voided"
                ),
                VoidPayment(state.order_id, reply.authorization_id),
            ]
    return [LateReplyIgnored(state.order_id, reply_type, f"order is already {state.status}")]


def _cancellation(state: OrderState, reason: str) -> Decision:
    decision: Decision = [OrderCancelled(state.order_id, reason)]
    if state.payment is PaymentStatus.AUTHORIZED and state.authorization_id is not None:
        decision.append(VoidPayment(state.order_id, state.authorization_id))
    return decision


def _confirmation_if_ready(state: OrderState) -> Decision:
    ready = (
        state.status is OrderStatus.AWAITING_REPLIES
        and state.stock is StockStatus.RESERVED
        and state.payment is PaymentStatus.AUTHORIZED
        and state.fraud in CLEAR_VERDICTS
    )
    if not ready or state.total is None or state.authorization_id is None:
        return []
    return [
        OrderConfirmed(state.order_id, state.total),
        CapturePayment(state.order_id, state.authorization_id, state.total),
    ]
