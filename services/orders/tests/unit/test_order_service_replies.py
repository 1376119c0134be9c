"""``OrderService`` on the in-memory store: replies applied exactly once, reviews and
cancellations, conflicts retried, and what cannot be read refused."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from services.orders.adapters.memory import InMemoryEventStore
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.domain.model import OrderAlreadyConfirmed
from services.orders.ports import ConcurrencyError
from services.orders.service import OrderService, UnknownOrder
from shared.contracts import (
    FraudCheckSkipped,
    InventoryRejected,
    InventoryReserved,
    Money,
    OrderFlaggedForReview,
    PaymentAuthorized,
    PaymentCaptured,
    envelope_for,
)
from shared.envelope import Envelope, MalformedMessage

OutboxOf = Callable[[str], list[dict[str, Any]]]


def place(service: OrderService) -> str:
    placement = service.place(
        PlaceOrder(
            order_id=service.new_order_id(),
            customer_email="ada@example.com",
            shipping_country="DE",
            currency="EUR",
            lines=(LineRequest("MUG-001", 2),),
            payment_token="tok_approve",
        )
    )
    return placement.order.order_id


def authorized(order_id: str, amount: int = 2598) -> Envelope:
    return envelope_for(
        PaymentAuthorized(
            order_id=order_id,
            authorization_id="auth-1",
            amount=Money(amount=amount, currency="EUR"),
        )
    )


def types(store: InMemoryEventStore, order_id: str) -> list[str]:
    return [e.type for e in store.read_stream(order_id)]


def test_replies_confirm_the_order_and_request_capture(
    service: OrderService, store: InMemoryEventStore, outbox_of: OutboxOf
) -> None:
    order_id = place(service)
    reserved = envelope_for(InventoryReserved(order_id=order_id))
    payment = authorized(order_id)
    skipped = envelope_for(FraudCheckSkipped(order_id=order_id))

    for reply in (skipped, reserved, payment):
        service.apply_reply(reply)

    recorded = store.read_stream(order_id)
    assert [e.type for e in recorded] == [
        "OrderPlaced",
        "FraudCheckSkipped",
        "InventoryReserved",
        "PaymentAuthorized",
        "OrderConfirmed",
    ]
    assert [e.event_id for e in recorded[1:4]] == [
        skipped.event_id,
        reserved.event_id,
        payment.event_id,
    ]
    assert recorded[3].metadata["occurred_at"] == payment.occurred_at.isoformat()
    confirmed = recorded[4]
    assert confirmed.metadata["causation_id"] == str(payment.event_id)
    sent = [(m["destination"], m["type"]) for m in outbox_of(order_id)]
    assert sent[3:] == [
        ("sns", "OrderConfirmed"),
        ("bus", "OrderConfirmed"),
        ("fifo", "CapturePayment"),
    ]
    capture = outbox_of(order_id)[-1]
    assert capture["causation_id"] == str(payment.event_id)
    assert capture["payload"] == {
        "order_id": order_id,
        "authorization_id": "auth-1",
        "amount": {"amount": 2598, "currency": "EUR"},
    }
    assert str(service.get(order_id).state.status) == "confirmed"


def test_a_redelivered_reply_changes_nothing(
    service: OrderService, store: InMemoryEventStore, outbox_of: OutboxOf
) -> None:
    order_id = place(service)
    rejected = envelope_for(InventoryRejected(order_id=order_id, short_skus=("MUG-001",)))

    for _ in range(3):
        service.apply_reply(rejected)

    recorded = store.read_stream(order_id)
    assert [e.type for e in recorded] == ["OrderPlaced", "InventoryRejected", "OrderCancelled"]
    assert recorded[1].payload["short_skus"] == ["MUG-001"]
    assert len(outbox_of(order_id)) == 5  # placed x2 + authorize, cancelled x2


def test_a_late_reply_to_a_final_order_is_recorded_and_ignored(
    service: OrderService, store: InMemoryEventStore
) -> None:
    order_id = place(service)
    service.cancel(order_id)
    service.apply_reply(authorized(order_id))
    assert types(store, order_id)[-1] == "LateReplyIgnored"
    assert str(service.get(order_id).state.status) == "cancelled"


def test_replies_racing_on_one_order_are_all_applied(
    service: OrderService, store: InMemoryEventStore
) -> None:
    order_id = place(service)
    replies = [
        envelope_for(InventoryReserved(order_id=order_id)),
        authorized(order_id),
        envelope_for(FraudCheckSkipped(order_id=order_id)),
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(replies))

    def apply(reply: Envelope) -> None:
        barrier.wait()
        try:
            service.apply_reply(reply)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=apply, args=(r,)) for r in replies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    recorded = types(store, order_id)
    assert sorted(recorded[1:4]) == ["FraudCheckSkipped", "InventoryReserved", "PaymentAuthorized"]
    assert recorded[4:] == ["OrderConfirmed"]


def test_a_reviewer_approves_an_order_on_hold_and_it_is_confirmed(service: OrderService) -> None:
    order_id = place(service)
    service.apply_reply(envelope_for(OrderFlaggedForReview(order_id=order_id, score=90)))
    service.apply_reply(envelope_for(InventoryReserved(order_id=order_id)))
    service.apply_reply(authorized(order_id))
    assert str(service.get(order_id).state.status) == "on_hold"

    view = service.review(order_id, approve=True, reviewer="ops")

    assert (str(view.state.status), str(view.state.fraud)) == ("confirmed", "approved")
    assert view == service.get(order_id)


def test_a_reviewer_rejects_an_order_on_hold_and_it_is_cancelled(
    service: OrderService, store: InMemoryEventStore
) -> None:
    order_id = place(service)
    service.apply_reply(envelope_for(OrderFlaggedForReview(order_id=order_id, score=90)))

    view = service.review(order_id, approve=False, reviewer="ops", reason="stolen card")

    assert str(view.state.status) == "cancelled"
    assert view.state.cancel_reason == "stolen card"
    assert types(store, order_id)[-2:] == ["OrderReviewRejected", "OrderCancelled"]


def test_cancelling_twice_changes_nothing_the_second_time(
    service: OrderService, store: InMemoryEventStore
) -> None:
    order_id = place(service)
    first = service.cancel(order_id, "changed my mind")
    again = service.cancel(order_id)

    assert again == first
    assert first.state.cancel_reason == "changed my mind"
    assert types(store, order_id) == ["OrderPlaced", "OrderCancelled"]


class RacingStore(InMemoryEventStore):
    """The store, with another writer appending to the stream just before each of the first
    ``races`` appends of this one."""

    def __init__(self, service: OrderService, store: InMemoryEventStore, races: int) -> None:
        super().__init__(store.database)
        self.rival = service
        self.races = races

    def append(self, stream_id: str, expected_version: int, *args: Any, **kwargs: Any) -> Any:
        if self.races and expected_version > 0:
            self.races -= 1
            self.rival.apply_reply(envelope_for(InventoryReserved(order_id=stream_id)))
        return super().append(stream_id, expected_version, *args, **kwargs)


def racing(service: OrderService, store: InMemoryEventStore, **options: Any) -> OrderService:
    return OrderService(RacingStore(service, store, races=1), service.catalogue, **options)


def test_a_conflict_is_retried_on_fresh_state(
    service: OrderService, store: InMemoryEventStore
) -> None:
    contested = racing(service, store)
    order_id = place(contested)

    contested.cancel(order_id)

    assert types(store, order_id) == ["OrderPlaced", "InventoryReserved", "OrderCancelled"]


def test_a_conflict_left_after_every_attempt_is_raised_and_writes_nothing(
    service: OrderService, store: InMemoryEventStore
) -> None:
    contested = racing(service, store, max_attempts=1)
    order_id = place(contested)

    with pytest.raises(ConcurrencyError, match="expected version 1, found 2"):
        contested.cancel(order_id)

    assert types(store, order_id) == ["OrderPlaced", "InventoryReserved"]


def test_an_expected_version_is_not_retried(
    service: OrderService, store: InMemoryEventStore
) -> None:
    contested = racing(service, store)
    order_id = place(contested)
    with pytest.raises(ConcurrencyError):
        contested.cancel(order_id, expected_version=1)
    assert str(contested.get(order_id).state.status) == "awaiting_replies"


def test_an_unknown_order_is_reported(service: OrderService) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(UnknownOrder, match=missing):
        service.apply_reply(envelope_for(InventoryReserved(order_id=missing)))
    with pytest.raises(UnknownOrder):
        service.cancel(missing)
    with pytest.raises(UnknownOrder):
        service.get(missing)


@pytest.mark.parametrize(
    ("envelope", "words"),
    [
        (Envelope(type="NoSuchReply", correlation_id="o-1"), "unknown message type"),
        (Envelope(type="OrderPlaced", correlation_id="o-1"), "not a message this consumer takes"),
        (
            Envelope(type="InventoryReserved", correlation_id="o-1", payload={"order_id": "o-2"}),
            "differs from correlation id",
        ),
        (
            Envelope(type="PaymentCaptured", correlation_id="o-1", payload={"order_id": "o-1"}),
            "invalid payload",
        ),
        (
            Envelope(
                type="PaymentCaptured",
                correlation_id="o-1",
                payload={
                    "order_id": "o-1",
                    "authorization_id": "a",
                    "amount": {"amount": 1, "currency": "QQQ"},
                },
            ),
            "unknown currency 'QQQ'",
        ),
    ],
)
def test_an_unreadable_reply_is_malformed(
    service: OrderService, envelope: Envelope, words: str
) -> None:
    with pytest.raises(MalformedMessage, match=words):
        service.apply_reply(envelope)


def test_a_confirmed_order_refuses_cancellation(service: OrderService) -> None:
    order_id = place(service)
    for reply in (
        envelope_for(InventoryReserved(order_id=order_id)),
        authorized(order_id),
        envelope_for(FraudCheckSkipped(order_id=order_id)),
        envelope_for(
            PaymentCaptured(
                order_id=order_id,
                authorization_id="auth-1",
                amount=Money(amount=2598, currency="EUR"),
            )
        ),
    ):
        service.apply_reply(reply)
    with pytest.raises(OrderAlreadyConfirmed):
        service.cancel(order_id)
    assert str(service.get(order_id).state.payment) == "captured"
