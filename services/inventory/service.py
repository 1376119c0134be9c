"""Inventory's use case: OrderPlaced reserves stock and is answered, OrderCancelled releases it.

The replies are InventoryReserved or InventoryRejected (the SKUs that are short); a cancellation
has no reply, and neither has an order that was cancelled before it was placed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from services.inventory.domain import (
    OrderLine,
    Reservation,
    ReservationStatus,
    requested_quantities,
)
from shared.consumer import reply_to
from shared.contracts import (
    Contract,
    InventoryRejected,
    InventoryReserved,
    OrderCancelled,
    OrderPlaced,
)
from shared.envelope import Envelope
from shared.observability import Telemetry


class Stock(Protocol):
    def reserve(self, order_id: str, requested: Mapping[str, int]) -> Reservation:
        """Reserve all of ``requested`` or nothing, atomically; the decision already taken for
        the order if there is one."""
        ...

    def release(self, order_id: str) -> tuple[Reservation, Mapping[str, int]]:
        """Apply the order's cancellation; the reservation after it and the stock returned."""
        ...


class InventoryService:
    accepts = (OrderPlaced, OrderCancelled)

    def __init__(self, stock: Stock, telemetry: Telemetry) -> None:
        self.stock = stock
        self.telemetry = telemetry

    def handle(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        if isinstance(payload, OrderPlaced):
            return self.place(envelope, payload)
        if isinstance(payload, OrderCancelled):
            return self.cancel(payload)
        raise TypeError(f"inventory does not handle {envelope.type}")

    def place(self, envelope: Envelope, placed: OrderPlaced) -> Sequence[Envelope]:
        lines = [OrderLine(line.sku, line.quantity) for line in placed.lines]
        reservation = self.stock.reserve(placed.order_id, requested_quantities(lines))
        self.telemetry.count(f"Reservations{reservation.status.value.capitalize()}")
        reply = reply_for(reservation)
        if reply is None:
            self.telemetry.info(f"order is {reservation.status.value}: nothing reserved, no reply")
            return []
        return [reply_to(envelope, reply)]

    def cancel(self, cancelled: OrderCancelled) -> Sequence[Envelope]:
        reservation, returned = self.stock.release(cancelled.order_id)
        self.telemetry.info(
            f"cancellation applied: order is {reservation.status.value}",
            returned_stock=dict(returned),
        )
        if returned:
            self.telemetry.count("ReservationsReleased")
        return []


def reply_for(reservation: Reservation) -> InventoryReserved | InventoryRejected | None:
    """The answer to OrderPlaced; none once the order is cancelled (nothing left to say)."""
    match reservation.status:
        case ReservationStatus.RESERVED:
            return InventoryReserved(order_id=reservation.order_id)
        case ReservationStatus.REJECTED:
            return InventoryRejected(
                order_id=reservation.order_id,
                reason="out of stock",
                short_skus=reservation.short_skus,
            )
        case ReservationStatus.RELEASED | ReservationStatus.CANCELLED:
            return None
