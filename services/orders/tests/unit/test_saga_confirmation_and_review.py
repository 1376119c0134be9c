"""The saga up to confirmation: every order of arrival of the replies, and fraud review."""

import pytest

from services.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderFlaggedForReview,
    OrderPutOnHold,
    OrderReviewApproved,
    OrderReviewRejected,
)
from services.orders.domain.model import (
    FraudStatus,
    Message,
    OrderStatus,
    PaymentStatus,
    ReviewNotPending,
    decide,
)
from services.orders.tests.unit.saga import (
    APPROVE,
    AUTHORIZED,
    CANCEL,
    CAPTURE,
    CAPTURED,
    FLAGGED,
    ORDER,
    OUT_OF_STOCK,
    PASSED,
    REJECT,
    RESERVED,
    SKIPPED,
    TOTAL,
    VOID,
    arrivals,
    ids,
    reviewed_arrivals,
    run,
)

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
