"""``OrderService.place`` on the in-memory store: what a placement appends and queues, what an
invalid one does not, and idempotency keys."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from services.orders.adapters.memory import InMemoryEventStore
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.domain.model import InvalidOrder
from services.orders.ports import IdempotencyKey
from services.orders.service import IdempotencyKeyReused, OrderService, Placement
from shared.contracts import OrderPlaced
from shared.envelope import Envelope

OutboxOf = Callable[[str], list[dict[str, Any]]]


def command(service: OrderService, sku: str = "MUG-001", currency: str = "EUR") -> PlaceOrder:
    return PlaceOrder(
        order_id=service.new_order_id(),
        customer_email="ada@example.com",
        shipping_country="DE",
        currency=currency,
        lines=(LineRequest(sku, 2),),
        payment_token="tok_approve",
    )


def test_placing_records_order_placed_and_queues_it_for_sns_bus_and_payments(
    service: OrderService, store: InMemoryEventStore, outbox_of: OutboxOf
) -> None:
    order_id = service.place(command(service)).order.order_id

    [placed] = store.read_stream(order_id)
    assert placed.type == "OrderPlaced"
    OrderPlaced.model_validate(placed.payload)  # the recorded payload is the contract payload
    assert placed.payload["total"] == {"amount": 2598, "currency": "EUR"}
    outbox = outbox_of(order_id)
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


def test_the_placement_answers_the_order_as_recorded(
    service: OrderService, store: InMemoryEventStore
) -> None:
    placement = service.place(command(service, currency="USD"))

    [placed] = store.read_stream(placement.order.order_id)
    assert placement.order == service.get(placement.order.order_id)
    assert placement.order.placed_at == placement.order.updated_at == placed.recorded_at
    assert str(placement.order.placed.total) == "2798 USD minor units"
    assert not placement.replayed


def test_a_placement_hands_out_an_access_token_only_its_order_accepts(
    service: OrderService, store: InMemoryEventStore, outbox_of: OutboxOf
) -> None:
    mine, theirs = service.place(command(service)), service.place(command(service))
    assert mine.access_token is not None and theirs.access_token is not None

    assert service.holds_access(mine.order.order_id, mine.access_token)
    assert not service.holds_access(mine.order.order_id, theirs.access_token)
    assert not service.holds_access(str(uuid.uuid4()), mine.access_token)
    assert not service.holds_access(mine.order.order_id, "")
    stored = [*store.read_stream(mine.order.order_id), *outbox_of(mine.order.order_id)]
    assert mine.access_token not in repr(stored)
    assert str(store.access_digest(mine.order.order_id)) not in repr(stored)


def test_an_invalid_order_writes_nothing(
    service: OrderService, store: InMemoryEventStore, outbox_of: OutboxOf
) -> None:
    invalid = command(service, sku="NOPE-1")
    with pytest.raises(InvalidOrder, match="unknown sku 'NOPE-1'"):
        service.place(invalid)
    assert store.read_stream(invalid.order_id) == []
    assert outbox_of(invalid.order_id) == []


def test_the_same_idempotency_key_returns_the_stored_placement(service: OrderService) -> None:
    key = f"k-{uuid.uuid4()}"
    first = service.place(command(service), idempotency_key=key, fingerprint="body-1")
    again = service.place(command(service), idempotency_key=key, fingerprint="body-1")

    assert (first.replayed, again.replayed) == (False, True)
    assert again.order == first.order
    assert first.access_token is not None
    assert again.access_token is None
    assert service.holds_access(first.order.order_id, first.access_token)
    with pytest.raises(IdempotencyKeyReused, match=key):
        service.place(command(service), idempotency_key=key, fingerprint="body-2")


def test_a_replay_answers_the_order_as_placed_not_as_it_is_now(service: OrderService) -> None:
    key = f"k-{uuid.uuid4()}"
    first = service.place(command(service), idempotency_key=key, fingerprint="body")
    service.cancel(first.order.order_id)

    again = service.place(command(service), idempotency_key=key, fingerprint="body")

    assert again.order == first.order
    assert str(again.order.state.status) == "awaiting_replies"


def test_concurrent_placements_with_one_key_create_one_order(
    service: OrderService, store: InMemoryEventStore
) -> None:
    key = f"k-{uuid.uuid4()}"
    commands = [command(service) for _ in range(4)]
    results: list[Placement] = []
    barrier = threading.Barrier(len(commands))

    def place(placing: PlaceOrder) -> None:
        barrier.wait()
        results.append(service.place(placing, idempotency_key=key, fingerprint="same"))

    threads = [threading.Thread(target=place, args=(c,)) for c in commands]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == len(commands)
    assert len({r.order.order_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    created = [c.order_id for c in commands if store.read_stream(c.order_id)]
    assert created == [results[0].order.order_id]


def test_a_key_taken_by_a_placement_racing_past_the_check_answers_that_placement(
    service: OrderService, store: InMemoryEventStore
) -> None:
    key = f"k-{uuid.uuid4()}"
    rival = service.place(command(service), idempotency_key=key, fingerprint="same")
    taken = store.idempotency_key(key)

    class MissedTheKey(InMemoryEventStore):
        """The first key lookup ran before the rival stored the key."""

        missed = False

        def idempotency_key(self, wanted: str) -> IdempotencyKey | None:
            if not self.missed:
                self.missed = True
                return None
            return super().idempotency_key(wanted)

    racing = OrderService(MissedTheKey(store.database), service.catalogue)
    placement = racing.place(command(service), idempotency_key=key, fingerprint="same")

    assert taken is not None
    assert placement == Placement(rival.order, replayed=True)
