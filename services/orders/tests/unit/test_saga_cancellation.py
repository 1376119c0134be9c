"""Cancellation and compensation, by a failure or the customer, and replies that come late."""

import pytest

from services.orders.domain.events import (
    LateReplyIgnored,
    OrderCancelled,
    PaymentCaptured,
    PaymentCommand,
    PaymentVoided,
    Reply,
)
from services.orders.domain.model import (
    Message,
    OrderAlreadyConfirmed,
    OrderStatus,
    PaymentStatus,
    decide,
)
from services.orders.tests.unit.saga import (
    ALL_REPLIES,
    APPROVE,
    AUTHORIZED,
    CANCEL,
    CAPTURED,
    DECLINED,
    FLAGGED,
    ORDER,
    OUT_OF_STOCK,
    PASSED,
    REJECT,
    RESERVED,
    SKIPPED,
    VOID,
    VOIDED,
    arrivals,
    ids,
    run,
)

# Cancellation and compensation


@pytest.mark.parametrize("messages", arrivals(OUT_OF_STOCK, AUTHORIZED, PASSED), ids=ids)
def test_out_of_stock_cancels_and_voids_the_authorization(messages: tuple[Message, ...]) -> None:
    outcome = run(messages)
    assert outcome.state.status is OrderStatus.CANCELLED
    assert outcome.of_type(OrderCancelled) == [OrderCancelled(ORDER, "out of stock: MUG sold out")]
    assert outcome.commands == [VOID]
    assert outcome.state.void_requested


@pytest.mark.parametrize("messages", arrivals(RESERVED, DECLINED, PASSED), ids=ids)
def test_a_declined_payment_cancels_without_a_void(messages: tuple[Message, ...]) -> None:
    outcome = run(messages)
    assert outcome.state.status is OrderStatus.CANCELLED
    assert outcome.of_type(OrderCancelled) == [
        OrderCancelled(ORDER, "payment declined: insufficient funds")
    ]
    assert outcome.commands == []


@pytest.mark.parametrize("messages", arrivals(OUT_OF_STOCK, DECLINED, FLAGGED), ids=ids)
def test_several_failures_cancel_once(messages: tuple[Message, ...]) -> None:
    outcome = run(messages)
    assert outcome.state.status is OrderStatus.CANCELLED
    assert len(outcome.of_type(OrderCancelled)) == 1
    assert outcome.commands == []
    recorded = [event for event in outcome.events if isinstance(event, Reply)]
    assert len(recorded) + len(outcome.of_type(LateReplyIgnored)) == len(messages)


@pytest.mark.parametrize(
    ("before", "failure", "voids"),
    [
        ((FLAGGED,), OUT_OF_STOCK, []),
        ((FLAGGED, AUTHORIZED), OUT_OF_STOCK, [VOID]),
        ((FLAGGED, RESERVED), DECLINED, []),
    ],
    ids=["on-hold-out-of-stock", "on-hold-authorized-out-of-stock", "on-hold-declined"],
)
def test_an_order_on_hold_is_cancelled_by_a_failure(
    before: tuple[Message, ...], failure: Message, voids: list[PaymentCommand]
) -> None:
    outcome = run([*before, failure])
    assert outcome.state.status is OrderStatus.CANCELLED
    assert outcome.commands == voids


def test_an_authorization_after_cancellation_is_voided_once() -> None:
    cancelled = run([OUT_OF_STOCK]).state
    outcome = run([AUTHORIZED, AUTHORIZED], cancelled)
    assert outcome.events == [
        LateReplyIgnored(
            ORDER, "PaymentAuthorized", "order is cancelled; the authorization is voided"
        )
    ]
    assert outcome.commands == [VOID]
    assert outcome.state.void_requested


@pytest.mark.parametrize(
    "before", [(AUTHORIZED, OUT_OF_STOCK), (OUT_OF_STOCK, AUTHORIZED)], ids=ids
)
def test_the_void_is_recorded_once(before: tuple[Message, ...]) -> None:
    outcome = run([*before, VOIDED, VOIDED])
    assert outcome.of_type(PaymentVoided) == [VOIDED]
    assert outcome.state.payment is PaymentStatus.VOIDED
    assert outcome.state.status is OrderStatus.CANCELLED


# Customer cancellation


@pytest.mark.parametrize(
    ("before", "voids"),
    [
        ((), []),
        ((RESERVED,), []),
        ((AUTHORIZED,), [VOID]),
        ((RESERVED, AUTHORIZED), [VOID]),
        ((RESERVED, PASSED), []),
        ((FLAGGED, AUTHORIZED, RESERVED), [VOID]),
        ((FLAGGED, APPROVE, AUTHORIZED), [VOID]),
    ],
    ids=ids,
)
def test_a_customer_cancels_before_confirmation(
    before: tuple[Message, ...], voids: list[PaymentCommand]
) -> None:
    state = run(before).state
    outcome = run([CANCEL], state)
    assert outcome.events == [OrderCancelled(ORDER, "cancelled by customer")]
    assert outcome.commands == voids
    assert outcome.state.cancel_reason == "cancelled by customer"


def test_a_confirmed_order_cannot_be_cancelled() -> None:
    confirmed = run([RESERVED, AUTHORIZED, PASSED]).state
    with pytest.raises(OrderAlreadyConfirmed, match="confirmed and can no longer be cancelled"):
        decide(CANCEL, confirmed)


def test_cancelling_a_cancelled_order_is_a_no_op() -> None:
    assert decide(CANCEL, run([OUT_OF_STOCK]).state) == []


# Late and unexpected replies


FINAL_HISTORIES: dict[str, tuple[Message, ...]] = {
    "confirmed": (RESERVED, AUTHORIZED, PASSED),
    "confirmed-and-captured": (RESERVED, AUTHORIZED, PASSED, CAPTURED),
    "approved": (FLAGGED, RESERVED, AUTHORIZED, APPROVE),
    "out-of-stock": (OUT_OF_STOCK,),
    "declined": (DECLINED,),
    "rejected": (AUTHORIZED, FLAGGED, REJECT),
    "customer-cancelled": (AUTHORIZED, CANCEL, VOIDED),
}


@pytest.mark.parametrize("reply", ALL_REPLIES, ids=ids)
@pytest.mark.parametrize("history", FINAL_HISTORIES.values(), ids=FINAL_HISTORIES.keys())
def test_any_reply_to_a_final_order_is_recorded_or_ignored_never_an_error(
    history: tuple[Message, ...], reply: Reply
) -> None:
    final = run(history).state
    first = run([reply], final)
    again = run([reply], first.state)

    assert first.state.status is final.status
    assert again.events == [] and again.commands == []
    for event in first.events:
        assert isinstance(event, LateReplyIgnored | PaymentCaptured | PaymentVoided)


@pytest.mark.parametrize("reply", [OUT_OF_STOCK, DECLINED, FLAGGED, SKIPPED, VOIDED], ids=ids)
def test_late_replies_to_a_confirmed_order_are_ignored(reply: Reply) -> None:
    confirmed = run([RESERVED, AUTHORIZED, PASSED]).state
    outcome = run([reply], confirmed)
    assert outcome.events == [
        LateReplyIgnored(ORDER, type(reply).__name__, "order is already confirmed")
    ]
    assert outcome.commands == []
    assert type(reply).__name__ in outcome.state.seen_replies


@pytest.mark.parametrize("reply", [RESERVED, PASSED, FLAGGED, DECLINED, CAPTURED, VOIDED], ids=ids)
def test_late_replies_to_a_cancelled_order_are_ignored(reply: Reply) -> None:
    cancelled = run([OUT_OF_STOCK]).state
    outcome = run([reply], cancelled)
    assert outcome.events == [
        LateReplyIgnored(ORDER, type(reply).__name__, "order is already cancelled")
    ]
    assert outcome.commands == []


@pytest.mark.parametrize(
    ("before", "reply", "reason"),
    [
        ((RESERVED,), OUT_OF_STOCK, "stock is already reserved"),
        ((AUTHORIZED,), DECLINED, "payment is already authorized"),
        ((PASSED,), SKIPPED, "fraud verdict is already passed"),
        ((PASSED,), FLAGGED, "fraud verdict is already passed"),
        ((FLAGGED,), PASSED, "fraud verdict is already flagged"),
        ((), CAPTURED, "no capture or void was requested while the order is awaiting_replies"),
        ((FLAGGED,), VOIDED, "no capture or void was requested while the order is on_hold"),
    ],
    ids=ids,
)
def test_contradicting_or_unrequested_replies_are_ignored(
    before: tuple[Message, ...], reply: Reply, reason: str
) -> None:
    state = run(before).state
    outcome = run([reply], state)
    assert outcome.events == [LateReplyIgnored(ORDER, type(reply).__name__, reason)]
    assert outcome.commands == []
    assert outcome.state.status is state.status
