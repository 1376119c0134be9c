"""Stock reservation rules: all lines of an order or none, released once on cancellation.

Pure: the store reads the stock under a lock, asks these functions what to do, and applies the
answer in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    REJECTED = "rejected"
    RELEASED = "released"
    CANCELLED = "cancelled"
    """The order was cancelled before it was placed here (events arrived out of order)."""


@dataclass(frozen=True, slots=True)
class Reservation:
    """What inventory decided for one order; ``quantities`` is what it holds (or held)."""

    order_id: str
    status: ReservationStatus
    quantities: Mapping[str, int] = field(default_factory=dict)
    short_skus: tuple[str, ...] = ()


def requested_quantities(lines: Iterable[OrderLine]) -> dict[str, int]:
    """Quantity per SKU, summing lines that repeat a SKU."""
    quantities: dict[str, int] = {}
    for line in lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return quantities


def decide_reservation(
    order_id: str, requested: Mapping[str, int], available: Mapping[str, int]
) -> Reservation:
    """Reserve every requested quantity, or nothing and name the SKUs that are short
    (unknown SKUs included)."""
    if not requested:
        raise ValueError(f"order {order_id} requests no stock")
    short = tuple(sorted(sku for sku, qty in requested.items() if available.get(sku, 0) < qty))
    if short:
        return Reservation(order_id, ReservationStatus.REJECTED, short_skus=short)
    return Reservation(order_id, ReservationStatus.RESERVED, quantities=dict(requested))


def release(reservation: Reservation | None, order_id: str) -> Reservation:
    """The reservation after the order's cancellation: released if it held stock, otherwise
    unchanged; an order not seen yet is remembered as cancelled so it never reserves later."""
    if reservation is None:
        return Reservation(order_id, ReservationStatus.CANCELLED)
    if reservation.status is ReservationStatus.RESERVED:
        return Reservation(order_id, ReservationStatus.RELEASED, quantities=reservation.quantities)
    return reservation


def stock_to_return(before: Reservation | None, after: Reservation) -> Mapping[str, int]:
    """The quantities a transition from ``before`` to ``after`` puts back on the shelf."""
    if (
        before is not None
        and before.status is ReservationStatus.RESERVED
        and after.status is ReservationStatus.RELEASED
    ):
        return after.quantities
    return {}


@dataclass(frozen=True, slots=True)
class StockedProduct:
    """A product as the catalogue shows it, with the stock still available."""

    sku: str
    name: str
    description: str
    prices: Mapping[str, int]
    available: int
