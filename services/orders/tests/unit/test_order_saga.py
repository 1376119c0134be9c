import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import permutations, product

import pytest

from services.orders.domain.commands import ApproveReview, CancelOrder, RejectReview
from services.orders.domain.events import (
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

ORDER = "o-1"
TOTAL = Money(2500, "EUR")
PLACED = OrderPlaced(
    order_id=ORDER,
    customer_email="ada@example.com",
    shipping_country="DE",
    lines=(OrderLine("MUG", 2, Money(1250, "EUR")),),
    total=TOTAL,
)

RESERVED = InventoryReserved(ORDER)
OUT_OF_STOCK = InventoryRejected(ORDER, "MUG sold out")
AUTHORIZED = PaymentAuthorized(ORDER, "auth-1", TOTAL)
DECLINED = PaymentDeclined(ORDER, "insufficient funds")
PASSED = FraudCheckPassed(ORDER, 10)
SKIPPED = FraudCheckSkipped(ORDER)
FLAGGED = OrderFlaggedForReview(ORDER, 90, ("high amount",))
CAPTURED = PaymentCaptured(ORDER, "auth-1", TOTAL)
VOIDED = PaymentVoided(ORDER, "auth-1")
APPROVE = ApproveReview(ORDER, "reviewer@shop")
REJECT = RejectReview(ORDER, "reviewer@shop", "stolen card")
CANCEL = CancelOrder(ORDER)

CAPTURE = CapturePayment(ORDER, "auth-1", TOTAL)
VOID = VoidPayment(ORDER, "auth-1")

ALL_REPLIES: tuple[Reply, ...] = (
    RESERVED,
    OUT_OF_STOCK,
    AUTHORIZED,
    DECLINED,
    CAPTURED,
    VOIDED,
    PASSED,
    SKIPPED,
    FLAGGED,
)


@dataclass
class Outcome:
    state: OrderState
    events: list[Event] = field(default_factory=list)
    commands: list[PaymentCommand] = field(default_factory=list)

    def of_type(self, kind: type[object]) -> list[Event]:
        return [event for event in self.events if isinstance(event, kind)]


def run(messages: Iterable[Message], state: OrderState | None = None) -> Outcome:
    outcome = Outcome(state if state is not None else fold([PLACED]))
    for message in messages:
        for item in decide(message, outcome.state):
            if isinstance(item, PaymentCommand):
                outcome.commands.append(item)
            else:
                outcome.events.append(item)
                outcome.state = evolve(outcome.state, item)
    return outcome


def arrivals(*messages: Message) -> list[tuple[Message, ...]]:
    return list(permutations(messages))


def reviewed_arrivals(decision: Message, *replies: Message) -> list[tuple[Message, ...]]:
    """Every order of arrival in which the reviewer decides after the flag."""
    return [
        order
        for order in permutations((FLAGGED, *replies, decision))
        if order.index(decision) > order.index(FLAGGED)
    ]


def ids(value: object) -> str:
    if isinstance(value, tuple | list):
        return ",".join(ids(item) for item in value) or "nothing"
    if isinstance(value, str):
        return value.replace(" ", "-")
    if isinstance(value, type):
        return value.__name__
    return type(value).__name__


# Confirmation

INCOMPLETE_PAIRS: list[tuple[Message, Message]] = [
    (RESERVED, AUTHORIZED),
    (RESERVED, PASSED),
    (AUTHORIZED, SKIPPED),
]


@pytest.mark.parametrize(
    "messages",
    arrivals(RESERVED, AUTHORIZED, PASSED) + arrivals(RESERVED, AUTHORIZED, SKIPPED),
    ids=ids,
)
def test_confirmed_once_all_three_replies_are_in_whatever_their_order(
    messages: tuple[Message, ...],
) -> None:
    outcome = run(messages)

    assert outcome.state.status is OrderStatus.CONFIRMED
    assert outcome.events[-1] == OrderConfirmed(ORDER, TOTAL)
    assert outcome.events[:-1] == list(messages)
    assert outcome.commands == [CAPTURE]


@pytest.mark.parametrize(
    "messages",
    [order for first, second in INCOMPLETE_PAIRS for order in arrivals(first, second)],
    ids=ids,
)
def test_two_replies_are_not_enough(messages: tuple[Message, ...]) -> None:
    outcome = run(messages)
    assert outcome.state.status is OrderStatus.AWAITING_REPLIES
    assert outcome.events == list(messages)
    assert outcome.commands == []


@pytest.mark.parametrize("messages", arrivals(RESERVED, AUTHORIZED, PASSED), ids=ids)
def test_duplicate_replies_change_nothing(messages: tuple[Message, ...]) -> None:
    doubled = [message for message in messages for _ in range(2)] + list(messages)
    assert run(doubled).events == run(messages).events
    assert run(doubled).commands == [CAPTURE]
    assert run(doubled).state == run(messages).state


def test_capture_is_recorded_after_confirmation() -> None:
    confirmed = run([RESERVED, AUTHORIZED, PASSED]).state
    outcome = run([CAPTURED, CAPTURED], confirmed)
    assert outcome.events == [CAPTURED]
    assert outcome.state.payment is PaymentStatus.CAPTURED
    assert outcome.state.status is OrderStatus.CONFIRMED


# Fraud review


@pytest.mark.parametrize("messages", arrivals(RESERVED, AUTHORIZED, FLAGGED), ids=ids)
def test_a_flag_puts_the_order_on_hold_whatever_the_order_of_arrival(
    messages: tuple[Message, ...],
) -> None:
    outcome = run(messages)
    assert outcome.state.status is OrderStatus.ON_HOLD
    assert OrderPutOnHold(ORDER, "flagged for review: high amount") in outcome.events
    assert outcome.of_type(OrderConfirmed) == []
    assert outcome.commands == []


@pytest.mark.parametrize("messages", reviewed_arrivals(APPROVE, RESERVED, AUTHORIZED), ids=ids)
def test_approval_confirms_and_captures_once_stock_and_payment_are_in(
    messages: tuple[Message, ...],
) -> None:
    outcome = run(messages)
    assert outcome.state.status is OrderStatus.CONFIRMED
    assert outcome.state.fraud is FraudStatus.APPROVED
    assert outcome.of_type(OrderReviewApproved) == [OrderReviewApproved(ORDER, "reviewer@shop")]
    assert outcome.of_type(OrderConfirmed) == [OrderConfirmed(ORDER, TOTAL)]
    assert outcome.commands == [CAPTURE]


def test_approval_before_stock_and_payment_waits_for_them() -> None:
    outcome = run([FLAGGED, APPROVE])
    assert outcome.state.status is OrderStatus.AWAITING_REPLIES
    assert outcome.events == [
        FLAGGED,
        OrderPutOnHold(ORDER, "flagged for review: high amount"),
        OrderReviewApproved(ORDER, "reviewer@shop"),
    ]


@pytest.mark.parametrize("messages", reviewed_arrivals(REJECT, RESERVED, AUTHORIZED), ids=ids)
def test_rejection_cancels_and_voids_the_authorization_whenever_it_arrives(
    messages: tuple[Message, ...],
) -> None:
    outcome = run(messages)
    assert outcome.state.status is OrderStatus.CANCELLED
    assert outcome.of_type(OrderReviewRejected) == [
        OrderReviewRejected(ORDER, "reviewer@shop", "stolen card")
    ]
    assert outcome.of_type(OrderCancelled) == [OrderCancelled(ORDER, "stolen card")]
    assert outcome.commands == [VOID]
    assert outcome.of_type(OrderConfirmed) == []


def test_a_flag_without_reasons_names_the_score() -> None:
    outcome = run([OrderFlaggedForReview(ORDER, 77)])
    assert outcome.events[-1] == OrderPutOnHold(ORDER, "flagged for review: score 77")


@pytest.mark.parametrize("review", [APPROVE, REJECT], ids=ids)
@pytest.mark.parametrize(
    "before",
    [(), (RESERVED,), (RESERVED, AUTHORIZED, PASSED), (OUT_OF_STOCK,), (FLAGGED, CANCEL)],
    ids=ids,
)
def test_a_review_needs_an_order_on_hold(review: Message, before: tuple[Message, ...]) -> None:
    state = run(before).state
    with pytest.raises(ReviewNotPending, match="not on hold for review"):
        decide(review, state)


@pytest.mark.parametrize("review", [APPROVE, REJECT], ids=ids)
def test_a_repeated_review_decision_is_a_no_op(review: Message) -> None:
    state = run([RESERVED, AUTHORIZED, FLAGGED, review]).state
    assert decide(review, state) == []


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
