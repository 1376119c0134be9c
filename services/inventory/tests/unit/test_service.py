"""The inventory use case on a stock kept in memory: what it reserves, releases and replies."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from services.inventory.domain import (
    Reservation,
    ReservationStatus,
    decide_reservation,
    release,
    stock_to_return,
)
from services.inventory.service import InventoryService, reply_for
from shared.contracts import (
    InventoryRejected,
    InventoryReserved,
    Money,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    payload_of,
)
from shared.contracts import envelope_for as envelope_of
from shared.envelope import Envelope
from shared.tests.telemetry import RecordingTelemetry


class FakeStock:
    def __init__(self, available: Mapping[str, int]) -> None:
        self.available = dict(available)
        self.reservations: dict[str, Reservation] = {}

    def reserve(self, order_id: str, requested: Mapping[str, int]) -> Reservation:
        if order_id in self.reservations:
            return self.reservations[order_id]
        decision = decide_reservation(order_id, requested, self.available)
        for sku, quantity in decision.quantities.items():
            self.available[sku] -= quantity
        self.reservations[order_id] = decision
        return decision

    def release(self, order_id: str) -> tuple[Reservation, Mapping[str, int]]:
        before = self.reservations.get(order_id)
        after = release(before, order_id)
        returned = stock_to_return(before, after)
        for sku, quantity in returned.items():
            self.available[sku] += quantity
        self.reservations[order_id] = after
        return after, returned


def placed(order_id: str, **lines: int) -> Envelope:
    price = Money(amount=500, currency="EUR")
    return envelope_of(
        OrderPlaced(
            order_id=order_id,
            customer_email="ada@example.com",
            shipping_country="DE",
            lines=tuple(
                OrderLine(sku=sku, quantity=quantity, unit_price=price)
                for sku, quantity in lines.items()
            ),
            total=Money(amount=500 * sum(lines.values()), currency="EUR"),
        )
    )


def cancelled(order_id: str) -> Envelope:
    return envelope_of(OrderCancelled(order_id=order_id, reason="declined"))


def handle(service: InventoryService, envelope: Envelope) -> list[Envelope]:
    return list(service.handle(envelope, payload_of(envelope)))


@pytest.fixture
def telemetry() -> RecordingTelemetry:
    return RecordingTelemetry()


def test_an_order_that_fits_is_reserved_and_answered(telemetry: RecordingTelemetry) -> None:
    stock = FakeStock({"MUG": 5})
    order = placed("o1", MUG=2)

    [reply] = handle(InventoryService(stock, telemetry), order)

    assert (reply.type, reply.causation_id, reply.correlation_id) == (
        "InventoryReserved",
        order.event_id,
        "o1",
    )
    assert stock.available == {"MUG": 3}
    assert telemetry.counts == {"ReservationsReserved": 1}


def test_an_order_that_does_not_fit_is_rejected_naming_the_short_skus(
    telemetry: RecordingTelemetry,
) -> None:
    stock = FakeStock({"MUG": 5, "HAT": 1})

    [reply] = handle(InventoryService(stock, telemetry), placed("o1", MUG=1, HAT=2))

    assert (reply.type, reply.payload["short_skus"]) == ("InventoryRejected", ["HAT"])
    assert stock.available == {"MUG": 5, "HAT": 1}
    assert telemetry.counts == {"ReservationsRejected": 1}


def test_cancellation_returns_the_stock_without_a_reply(telemetry: RecordingTelemetry) -> None:
    stock = FakeStock({"MUG": 5})
    service = InventoryService(stock, telemetry)
    handle(service, placed("o1", MUG=4))

    assert handle(service, cancelled("o1")) == []
    assert handle(service, cancelled("o1")) == []

    assert stock.available == {"MUG": 5}
    assert telemetry.counts["ReservationsReleased"] == 1
    assert telemetry.lines[-2][2] == {"returned_stock": {"MUG": 4}}


def test_an_order_cancelled_before_it_was_placed_reserves_nothing_and_says_nothing(
    telemetry: RecordingTelemetry,
) -> None:
    stock = FakeStock({"MUG": 5})
    service = InventoryService(stock, telemetry)
    handle(service, cancelled("o1"))

    assert handle(service, placed("o1", MUG=1)) == []

    assert stock.available == {"MUG": 5}
    assert "order is cancelled: nothing reserved, no reply" in telemetry.messages("INFO")


def test_replies_say_reserved_or_name_the_short_skus() -> None:
    assert reply_for(Reservation("o1", ReservationStatus.RESERVED, {"MUG": 1})) == (
        InventoryReserved(order_id="o1")
    )
    assert reply_for(Reservation("o1", ReservationStatus.REJECTED, short_skus=("MUG",))) == (
        InventoryRejected(order_id="o1", reason="out of stock", short_skus=("MUG",))
    )


@pytest.mark.parametrize("status", [ReservationStatus.RELEASED, ReservationStatus.CANCELLED])
def test_no_reply_once_the_order_is_cancelled(status: ReservationStatus) -> None:
    assert reply_for(Reservation("o1", status)) is None
