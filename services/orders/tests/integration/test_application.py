"""OrderService on a real store: what each decision appends and queues, replies applied
exactly once, conflicts retried, and what cannot be read refused."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select

from services.orders.adapters.event_store import ConcurrencyError, SqlEventStore, outbox_table
from services.orders.application import IdempotencyKeyReused, OrderService, UnknownOrder
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.domain.model import InvalidOrder, OrderAlreadyConfirmed
from shared.contracts import (
    FraudCheckSkipped,
    InventoryRejected,
    InventoryReserved,
    Money,
    OrderPlaced,
    PaymentAuthorized,
    PaymentCaptured,
    envelope_for,
)
from shared.envelope import Envelope, MalformedMessage

pytestmark = pytest.mark.integration


def _command(service: OrderService, sku: str = "MUG-001") -> PlaceOrder:
    return PlaceOrder(
        order_id=service.new_order_id(),
        customer_email="ada@example.com",
        shipping_country="DE",
        currency="EUR",
        lines=(LineRequest(sku, 2),),
        payment_token="tok_approve",
    )


def _place(service: OrderService) -> str:
    order_id: str = service.place(_command(service)).order["order_id"]
    return order_id


def _outbox(engine: Engine, order_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox_table)
            .where(outbox_table.c.message["correlation_id"].as_string() == order_id)
            .order_by(outbox_table.c.position)
        ).all()
    return [
        {"destination": r.destination, "group_id": r.group_id, "event_id": r.event_id, **r.message}
        for r in rows
    ]


def _authorized(order_id: str, amount: int = 2598) -> Envelope:
    return envelope_for(
        PaymentAuthorized(
            order_id=order_id,
            authorization_id="auth-1",
            amount=Money(amount=amount, currency="EUR"),
        )
    )


def test_placing_records_order_placed_and_queues_it_for_sns_bus_and_payments(
    service: OrderService, engine: Engine
) -> None:
    order_id = _place(service)

    [placed] = service.store.read_stream(order_id)
    assert placed.type == "OrderPlaced"
    OrderPlaced.model_validate(placed.payload)  # the recorded payload is the contract payload
    assert placed.payload["total"] == {"amount": 2598, "currency": "EUR"}
    outbox = _outbox(engine, order_id)
    assert [(m["destination"], m["type"]) for m in outbox] == [
        ("sns", "OrderPlaced"),
        ("bus", "OrderPlaced"),
        ("fifo", "AuthorizePayment"),
    ]
    sns, bus = outbox[0], outbox[1]
    assert sns["event_id"] == bus["event_id"] == str(placed.event_id)
    assert Envelope.model_validate({k: sns[k] for k in Envelope.model_fields}).payload == dict(
        placed.payload
    )
    authorize = outbox[2]
    assert authorize["group_id"] == order_id
    assert authorize["payload"]["payment_token"] == "tok_approve"
    assert authorize["payload"]["amount"] == {"amount": 2598, "currency": "EUR"}
    assert authorize["correlation_id"] == order_id
    assert authorize["causation_id"] == placed.metadata["causation_id"] == sns["causation_id"]


def test_an_invalid_order_writes_nothing(service: OrderService, engine: Engine) -> None:
    command = _command(service, sku="NOPE-1")
    with pytest.raises(InvalidOrder, match="unknown sku 'NOPE-1'"):
        service.place(command)
    assert service.store.read_stream(command.order_id) == []
    assert _outbox(engine, command.order_id) == []


def test_the_same_idempotency_key_returns_the_stored_placement(service: OrderService) -> None:
    key = f"k-{uuid.uuid4()}"
    first = service.place(_command(service), idempotency_key=key, fingerprint="body-1")
    again = service.place(_command(service), idempotency_key=key, fingerprint="body-1")

    assert (first.replayed, again.replayed) == (False, True)
    assert again.order == first.order
    with pytest.raises(IdempotencyKeyReused, match=key):
        service.place(_command(service), idempotency_key=key, fingerprint="body-2")


def test_concurrent_placements_with_one_key_create_one_order(service: OrderService) -> None:
    key = f"k-{uuid.uuid4()}"
    commands = [_command(service) for _ in range(4)]
    results: list[Any] = []
    barrier = threading.Barrier(len(commands))

    def place(command: PlaceOrder) -> None:
        barrier.wait()
        results.append(service.place(command, idempotency_key=key, fingerprint="same"))

    threads = [threading.Thread(target=place, args=(c,)) for c in commands]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == len(commands)
    assert len({r.order["order_id"] for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    created = [c.order_id for c in commands if service.store.read_stream(c.order_id)]
    assert created == [results[0].order["order_id"]]


def test_replies_confirm_the_order_and_request_capture(
    service: OrderService, engine: Engine
) -> None:
    order_id = _place(service)
    reserved = envelope_for(InventoryReserved(order_id=order_id))
    authorized = _authorized(order_id)
    skipped = envelope_for(FraudCheckSkipped(order_id=order_id))

    for reply in (skipped, reserved, authorized):
        service.apply_reply(reply)

    recorded = service.store.read_stream(order_id)
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
        authorized.event_id,
    ]
    assert recorded[3].metadata["occurred_at"] == authorized.occurred_at.isoformat()
    confirmed = recorded[4]
    assert confirmed.metadata["causation_id"] == str(authorized.event_id)
    sent = [(m["destination"], m["type"]) for m in _outbox(engine, order_id)]
    assert sent[3:] == [
        ("sns", "OrderConfirmed"),
        ("bus", "OrderConfirmed"),
        ("fifo", "CapturePayment"),
    ]
    capture = _outbox(engine, order_id)[-1]
    assert capture["causation_id"] == str(authorized.event_id)
    assert capture["payload"] == {
        "order_id": order_id,
        "authorization_id": "auth-1",
        "amount": {"amount": 2598, "currency": "EUR"},
    }
    assert service.get(order_id).to_dict()["status"] == "confirmed"


def test_a_redelivered_reply_changes_nothing(service: OrderService, engine: Engine) -> None:
    order_id = _place(service)
    rejected = envelope_for(InventoryRejected(order_id=order_id, short_skus=("MUG-001",)))

    for _ in range(3):
        service.apply_reply(rejected)

    recorded = service.store.read_stream(order_id)
    assert [e.type for e in recorded] == ["OrderPlaced", "InventoryRejected", "OrderCancelled"]
    assert recorded[1].payload["short_skus"] == ["MUG-001"]
    assert len(_outbox(engine, order_id)) == 5  # placed x2 + authorize, cancelled x2


def test_a_late_reply_to_a_final_order_is_recorded_and_ignored(service: OrderService) -> None:
    order_id = _place(service)
    service.cancel(order_id)
    service.apply_reply(_authorized(order_id))
    recorded = service.store.read_stream(order_id)
    assert [e.type for e in recorded][-1] == "LateReplyIgnored"
    assert service.get(order_id).to_dict()["status"] == "cancelled"


def test_replies_racing_on_one_order_are_all_applied(service: OrderService) -> None:
    order_id = _place(service)
    replies = [
        envelope_for(InventoryReserved(order_id=order_id)),
        _authorized(order_id),
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
    types = [e.type for e in service.store.read_stream(order_id)]
    assert sorted(types[1:4]) == ["FraudCheckSkipped", "InventoryReserved", "PaymentAuthorized"]
    assert types[4:] == ["OrderConfirmed"]


class RacingStore(SqlEventStore):
    """The real store, with another writer appending to the stream just before each of the
    first ``races`` appends of this one."""

    def __init__(self, engine: Engine, races: int) -> None:
        super().__init__(engine)
        self.races = races

    def append(self, stream_id: str, expected_version: int, *args: Any, **kwargs: Any) -> Any:
        if self.races and expected_version > 0:
            self.races -= 1
            rival = OrderService(SqlEventStore(self.engine))
            rival.apply_reply(envelope_for(InventoryReserved(order_id=stream_id)))
        return super().append(stream_id, expected_version, *args, **kwargs)


def test_a_conflict_is_retried_on_fresh_state(engine: Engine) -> None:
    service = OrderService(RacingStore(engine, races=1))
    order_id = _place(service)

    service.cancel(order_id)

    types = [e.type for e in service.store.read_stream(order_id)]
    assert types == ["OrderPlaced", "InventoryReserved", "OrderCancelled"]


def test_a_conflict_left_after_every_attempt_is_raised_and_writes_nothing(engine: Engine) -> None:
    service = OrderService(RacingStore(engine, races=1), max_attempts=1)
    order_id = _place(service)

    with pytest.raises(ConcurrencyError, match="expected version 1, found 2"):
        service.cancel(order_id)

    assert [e.type for e in service.store.read_stream(order_id)] == [
        "OrderPlaced",
        "InventoryReserved",
    ]


def test_an_expected_version_is_not_retried(engine: Engine) -> None:
    service = OrderService(RacingStore(engine, races=1))
    order_id = _place(service)
    with pytest.raises(ConcurrencyError):
        service.cancel(order_id, expected_version=1)
    assert service.get(order_id).to_dict()["status"] == "awaiting_replies"


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
    order_id = _place(service)
    for reply in (
        envelope_for(InventoryReserved(order_id=order_id)),
        _authorized(order_id),
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
    assert service.get(order_id).to_dict()["payment"] == "captured"
