"""Guards, folding, every combination of verdicts and the state x message table."""

import dataclasses
from itertools import product

import pytest

from services.orders.domain.events import (
    InventoryReserved,
    OrderConfirmed,
)
from services.orders.domain.model import (
    DomainError,
    FraudStatus,
    Message,
    OrderAlreadyConfirmed,
    OrderNotPlaced,
    OrderState,
    OrderStatus,
    PaymentStatus,
    ReviewNotPending,
    StockStatus,
    WrongOrder,
    decide,
    evolve,
    fold,
)
from services.orders.domain.money import Money
from services.orders.tests.unit.saga import (
    ALL_REPLIES,
    APPROVE,
    AUTHORIZED,
    CANCEL,
    CAPTURE,
    CAPTURED,
    DECLINED,
    FLAGGED,
    ORDER,
    OUT_OF_STOCK,
    PASSED,
    PLACED,
    REJECT,
    RESERVED,
    SKIPPED,
    TOTAL,
    VOID,
    VOIDED,
    ids,
    run,
)

# Guards and folding


@pytest.mark.parametrize("message", [*ALL_REPLIES, CANCEL, APPROVE, REJECT], ids=ids)
def test_nothing_happens_to_an_order_that_was_never_placed(message: Message) -> None:
    with pytest.raises(OrderNotPlaced, match="has not been placed"):
        decide(message, OrderState())


def test_a_message_for_another_order_is_refused() -> None:
    with pytest.raises(WrongOrder, match="'o-2'"):
        decide(InventoryReserved("o-2"), fold([PLACED]))


def test_evolve_tracks_every_reply_and_the_version() -> None:
    state = fold([PLACED, RESERVED, AUTHORIZED, PASSED, OrderConfirmed(ORDER, TOTAL), CAPTURED])
    assert state == OrderState(
        order_id=ORDER,
        status=OrderStatus.CONFIRMED,
        version=6,
        total=TOTAL,
        stock=StockStatus.RESERVED,
        payment=PaymentStatus.CAPTURED,
        fraud=FraudStatus.PASSED,
        authorization_id="auth-1",
        seen_replies=frozenset(
            {"InventoryReserved", "PaymentAuthorized", "FraudCheckPassed", "PaymentCaptured"}
        ),
    )
    assert state.is_final


def test_evolve_rejects_what_is_not_an_event() -> None:
    with pytest.raises(TypeError, match="not an order event"):
        evolve(OrderState(), CAPTURE)  # type: ignore[arg-type]


def test_state_and_events_are_immutable() -> None:
    state = fold([PLACED])
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.status = OrderStatus.CONFIRMED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PLACED.total = Money(1, "EUR")  # type: ignore[misc]


def test_decide_does_not_change_the_state_it_is_given() -> None:
    state = fold([PLACED, RESERVED, AUTHORIZED])
    snapshot = dataclasses.replace(state)
    decide(PASSED, state)
    assert state == snapshot


@pytest.mark.parametrize(
    "messages",
    list(product([RESERVED, OUT_OF_STOCK], [AUTHORIZED, DECLINED], [PASSED, SKIPPED, FLAGGED])),
    ids=ids,
)
def test_every_combination_of_verdicts_ends_consistently(messages: tuple[Message, ...]) -> None:
    outcome = run(messages)
    confirmed = outcome.state.status is OrderStatus.CONFIRMED
    assert confirmed == (
        messages[0] is RESERVED and messages[1] is AUTHORIZED and messages[2] is not FLAGGED
    )
    assert (CAPTURE in outcome.commands) == confirmed
    assert (VOID in outcome.commands) == (
        outcome.state.status is OrderStatus.CANCELLED and AUTHORIZED in messages
    )


# The state x message table of docs/order-state-machine.md

TABLE_STATES: dict[str, tuple[Message, ...]] = {
    "NOTHING_IN": (),
    "STOCK_AND_PAYMENT_IN": (RESERVED, AUTHORIZED),
    "STOCK_AND_VERDICT_IN": (RESERVED, PASSED),
    "PAYMENT_AND_VERDICT_IN": (AUTHORIZED, PASSED),
    "ON_HOLD": (FLAGGED,),
    "ON_HOLD_AUTHORIZED": (AUTHORIZED, FLAGGED),
    "APPROVED_EARLY": (FLAGGED, APPROVE),
    "CONFIRMED": (RESERVED, AUTHORIZED, PASSED),
    "CANCELLED": (OUT_OF_STOCK,),
    "CANCELLED_AUTHORIZED": (AUTHORIZED, OUT_OF_STOCK),
}

TRANSITIONS: list[tuple[str, Message, OrderStatus, tuple[str, ...] | type[DomainError]]] = [
    ("NOTHING_IN", RESERVED, OrderStatus.AWAITING_REPLIES, ("InventoryReserved",)),
    ("NOTHING_IN", OUT_OF_STOCK, OrderStatus.CANCELLED, ("InventoryRejected", "OrderCancelled")),
    ("NOTHING_IN", AUTHORIZED, OrderStatus.AWAITING_REPLIES, ("PaymentAuthorized",)),
    ("NOTHING_IN", DECLINED, OrderStatus.CANCELLED, ("PaymentDeclined", "OrderCancelled")),
    ("NOTHING_IN", PASSED, OrderStatus.AWAITING_REPLIES, ("FraudCheckPassed",)),
    ("NOTHING_IN", SKIPPED, OrderStatus.AWAITING_REPLIES, ("FraudCheckSkipped",)),
    ("NOTHING_IN", FLAGGED, OrderStatus.ON_HOLD, ("OrderFlaggedForReview", "OrderPutOnHold")),
    ("NOTHING_IN", CAPTURED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("NOTHING_IN", VOIDED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("NOTHING_IN", APPROVE, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("NOTHING_IN", REJECT, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("NOTHING_IN", CANCEL, OrderStatus.CANCELLED, ("OrderCancelled",)),
    ("STOCK_AND_PAYMENT_IN", RESERVED, OrderStatus.AWAITING_REPLIES, ()),
    ("STOCK_AND_PAYMENT_IN", OUT_OF_STOCK, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("STOCK_AND_PAYMENT_IN", AUTHORIZED, OrderStatus.AWAITING_REPLIES, ()),
    ("STOCK_AND_PAYMENT_IN", DECLINED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    (
        "STOCK_AND_PAYMENT_IN",
        PASSED,
        OrderStatus.CONFIRMED,
        ("FraudCheckPassed", "OrderConfirmed", "CapturePayment"),
    ),
    (
        "STOCK_AND_PAYMENT_IN",
        SKIPPED,
        OrderStatus.CONFIRMED,
        ("FraudCheckSkipped", "OrderConfirmed", "CapturePayment"),
    ),
    (
        "STOCK_AND_PAYMENT_IN",
        FLAGGED,
        OrderStatus.ON_HOLD,
        ("OrderFlaggedForReview", "OrderPutOnHold"),
    ),
    ("STOCK_AND_PAYMENT_IN", CAPTURED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("STOCK_AND_PAYMENT_IN", VOIDED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("STOCK_AND_PAYMENT_IN", APPROVE, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("STOCK_AND_PAYMENT_IN", REJECT, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("STOCK_AND_PAYMENT_IN", CANCEL, OrderStatus.CANCELLED, ("OrderCancelled", "VoidPayment")),
    ("STOCK_AND_VERDICT_IN", RESERVED, OrderStatus.AWAITING_REPLIES, ()),
    ("STOCK_AND_VERDICT_IN", OUT_OF_STOCK, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    (
        "STOCK_AND_VERDICT_IN",
        AUTHORIZED,
        OrderStatus.CONFIRMED,
        ("PaymentAuthorized", "OrderConfirmed", "CapturePayment"),
    ),
    (
        "STOCK_AND_VERDICT_IN",
        DECLINED,
        OrderStatus.CANCELLED,
        ("PaymentDeclined", "OrderCancelled"),
    ),
    ("STOCK_AND_VERDICT_IN", PASSED, OrderStatus.AWAITING_REPLIES, ()),
    ("STOCK_AND_VERDICT_IN", SKIPPED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("STOCK_AND_VERDICT_IN", FLAGGED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("STOCK_AND_VERDICT_IN", CAPTURED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("STOCK_AND_VERDICT_IN", VOIDED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("STOCK_AND_VERDICT_IN", APPROVE, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("STOCK_AND_VERDICT_IN", REJECT, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("STOCK_AND_VERDICT_IN", CANCEL, OrderStatus.CANCELLED, ("OrderCancelled",)),
    (
        "PAYMENT_AND_VERDICT_IN",
        RESERVED,
        OrderStatus.CONFIRMED,
        ("InventoryReserved", "OrderConfirmed", "CapturePayment"),
    ),
    (
        "PAYMENT_AND_VERDICT_IN",
        OUT_OF_STOCK,
        OrderStatus.CANCELLED,
        ("InventoryRejected", "OrderCancelled", "VoidPayment"),
    ),
    ("PAYMENT_AND_VERDICT_IN", AUTHORIZED, OrderStatus.AWAITING_REPLIES, ()),
    ("PAYMENT_AND_VERDICT_IN", DECLINED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("PAYMENT_AND_VERDICT_IN", PASSED, OrderStatus.AWAITING_REPLIES, ()),
    ("PAYMENT_AND_VERDICT_IN", SKIPPED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("PAYMENT_AND_VERDICT_IN", FLAGGED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("PAYMENT_AND_VERDICT_IN", CAPTURED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("PAYMENT_AND_VERDICT_IN", VOIDED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("PAYMENT_AND_VERDICT_IN", APPROVE, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("PAYMENT_AND_VERDICT_IN", REJECT, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("PAYMENT_AND_VERDICT_IN", CANCEL, OrderStatus.CANCELLED, ("OrderCancelled", "VoidPayment")),
    ("ON_HOLD", RESERVED, OrderStatus.ON_HOLD, ("InventoryReserved",)),
    ("ON_HOLD", OUT_OF_STOCK, OrderStatus.CANCELLED, ("InventoryRejected", "OrderCancelled")),
    ("ON_HOLD", AUTHORIZED, OrderStatus.ON_HOLD, ("PaymentAuthorized",)),
    ("ON_HOLD", DECLINED, OrderStatus.CANCELLED, ("PaymentDeclined", "OrderCancelled")),
    ("ON_HOLD", PASSED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD", SKIPPED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD", FLAGGED, OrderStatus.ON_HOLD, ()),
    ("ON_HOLD", CAPTURED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD", VOIDED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD", APPROVE, OrderStatus.AWAITING_REPLIES, ("OrderReviewApproved",)),
    ("ON_HOLD", REJECT, OrderStatus.CANCELLED, ("OrderReviewRejected", "OrderCancelled")),
    ("ON_HOLD", CANCEL, OrderStatus.CANCELLED, ("OrderCancelled",)),
    ("ON_HOLD_AUTHORIZED", RESERVED, OrderStatus.ON_HOLD, ("InventoryReserved",)),
    (
        "ON_HOLD_AUTHORIZED",
        OUT_OF_STOCK,
        OrderStatus.CANCELLED,
        ("InventoryRejected", "OrderCancelled", "VoidPayment"),
    ),
    ("ON_HOLD_AUTHORIZED", AUTHORIZED, OrderStatus.ON_HOLD, ()),
    ("ON_HOLD_AUTHORIZED", DECLINED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD_AUTHORIZED", PASSED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD_AUTHORIZED", SKIPPED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD_AUTHORIZED", FLAGGED, OrderStatus.ON_HOLD, ()),
    ("ON_HOLD_AUTHORIZED", CAPTURED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD_AUTHORIZED", VOIDED, OrderStatus.ON_HOLD, ("LateReplyIgnored",)),
    ("ON_HOLD_AUTHORIZED", APPROVE, OrderStatus.AWAITING_REPLIES, ("OrderReviewApproved",)),
    (
        "ON_HOLD_AUTHORIZED",
        REJECT,
        OrderStatus.CANCELLED,
        ("OrderReviewRejected", "OrderCancelled", "VoidPayment"),
    ),
    ("ON_HOLD_AUTHORIZED", CANCEL, OrderStatus.CANCELLED, ("OrderCancelled", "VoidPayment")),
    ("APPROVED_EARLY", RESERVED, OrderStatus.AWAITING_REPLIES, ("InventoryReserved",)),
    (
        "APPROVED_EARLY",
        OUT_OF_STOCK,
        OrderStatus.CANCELLED,
        ("InventoryRejected", "OrderCancelled"),
    ),
    ("APPROVED_EARLY", AUTHORIZED, OrderStatus.AWAITING_REPLIES, ("PaymentAuthorized",)),
    ("APPROVED_EARLY", DECLINED, OrderStatus.CANCELLED, ("PaymentDeclined", "OrderCancelled")),
    ("APPROVED_EARLY", PASSED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("APPROVED_EARLY", SKIPPED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("APPROVED_EARLY", FLAGGED, OrderStatus.AWAITING_REPLIES, ()),
    ("APPROVED_EARLY", CAPTURED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("APPROVED_EARLY", VOIDED, OrderStatus.AWAITING_REPLIES, ("LateReplyIgnored",)),
    ("APPROVED_EARLY", APPROVE, OrderStatus.AWAITING_REPLIES, ()),
    ("APPROVED_EARLY", REJECT, OrderStatus.AWAITING_REPLIES, ReviewNotPending),
    ("APPROVED_EARLY", CANCEL, OrderStatus.CANCELLED, ("OrderCancelled",)),
    ("CONFIRMED", RESERVED, OrderStatus.CONFIRMED, ()),
    ("CONFIRMED", OUT_OF_STOCK, OrderStatus.CONFIRMED, ("LateReplyIgnored",)),
    ("CONFIRMED", AUTHORIZED, OrderStatus.CONFIRMED, ()),
    ("CONFIRMED", DECLINED, OrderStatus.CONFIRMED, ("LateReplyIgnored",)),
    ("CONFIRMED", PASSED, OrderStatus.CONFIRMED, ()),
    ("CONFIRMED", SKIPPED, OrderStatus.CONFIRMED, ("LateReplyIgnored",)),
    ("CONFIRMED", FLAGGED, OrderStatus.CONFIRMED, ("LateReplyIgnored",)),
    ("CONFIRMED", CAPTURED, OrderStatus.CONFIRMED, ("PaymentCaptured",)),
    ("CONFIRMED", VOIDED, OrderStatus.CONFIRMED, ("LateReplyIgnored",)),
    ("CONFIRMED", APPROVE, OrderStatus.CONFIRMED, ReviewNotPending),
    ("CONFIRMED", REJECT, OrderStatus.CONFIRMED, ReviewNotPending),
    ("CONFIRMED", CANCEL, OrderStatus.CONFIRMED, OrderAlreadyConfirmed),
    ("CANCELLED", RESERVED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED", OUT_OF_STOCK, OrderStatus.CANCELLED, ()),
    ("CANCELLED", AUTHORIZED, OrderStatus.CANCELLED, ("LateReplyIgnored", "VoidPayment")),
    ("CANCELLED", DECLINED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED", PASSED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED", SKIPPED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED", FLAGGED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED", CAPTURED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED", VOIDED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED", APPROVE, OrderStatus.CANCELLED, ReviewNotPending),
    ("CANCELLED", REJECT, OrderStatus.CANCELLED, ReviewNotPending),
    ("CANCELLED", CANCEL, OrderStatus.CANCELLED, ()),
    ("CANCELLED_AUTHORIZED", RESERVED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED_AUTHORIZED", OUT_OF_STOCK, OrderStatus.CANCELLED, ()),
    ("CANCELLED_AUTHORIZED", AUTHORIZED, OrderStatus.CANCELLED, ()),
    ("CANCELLED_AUTHORIZED", DECLINED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED_AUTHORIZED", PASSED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED_AUTHORIZED", SKIPPED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED_AUTHORIZED", FLAGGED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED_AUTHORIZED", CAPTURED, OrderStatus.CANCELLED, ("LateReplyIgnored",)),
    ("CANCELLED_AUTHORIZED", VOIDED, OrderStatus.CANCELLED, ("PaymentVoided",)),
    ("CANCELLED_AUTHORIZED", APPROVE, OrderStatus.CANCELLED, ReviewNotPending),
    ("CANCELLED_AUTHORIZED", REJECT, OrderStatus.CANCELLED, ReviewNotPending),
    ("CANCELLED_AUTHORIZED", CANCEL, OrderStatus.CANCELLED, ()),
]


@pytest.mark.parametrize(("history", "message", "status", "emitted"), TRANSITIONS, ids=ids)
def test_transition_table(
    history: str,
    message: Message,
    status: OrderStatus,
    emitted: tuple[str, ...] | type[DomainError],
) -> None:
    state = run(TABLE_STATES[history]).state
    if isinstance(emitted, tuple):
        assert tuple(type(item).__name__ for item in decide(message, state)) == emitted
        assert run([message], state).state.status is status
    else:
        with pytest.raises(emitted):
            decide(message, state)
        assert state.status is status
