"""Reservation rules: all lines or none, short SKUs named, released once."""

from __future__ import annotations

import pytest

from services.inventory.domain import (
    OrderLine,
    Reservation,
    ReservationStatus,
    decide_reservation,
    release,
    requested_quantities,
    stock_to_return,
)


def line(sku: str, quantity: int) -> OrderLine:
    return OrderLine(sku=sku, quantity=quantity)


def test_lines_of_the_same_sku_are_summed() -> None:
    assert requested_quantities([line("MUG", 1), line("TEE", 2), line("MUG", 3)]) == {
        "MUG": 4,
        "TEE": 2,
    }


def test_every_line_available_reserves_every_line() -> None:
    decision = decide_reservation("o1", {"MUG": 2, "TEE": 1}, {"MUG": 2, "TEE": 5})
    assert decision == Reservation("o1", ReservationStatus.RESERVED, {"MUG": 2, "TEE": 1})


def test_one_short_line_reserves_nothing_and_names_the_short_skus() -> None:
    decision = decide_reservation(
        "o1", {"TEE": 1, "MUG": 3, "HAT": 1, "PEN": 1}, {"MUG": 2, "TEE": 5, "PEN": 0}
    )
    assert decision.status is ReservationStatus.REJECTED
    assert decision.quantities == {}
    assert decision.short_skus == ("HAT", "MUG", "PEN")


def test_an_order_without_lines_is_refused() -> None:
    with pytest.raises(ValueError, match="o1 requests no stock"):
        decide_reservation("o1", {}, {"MUG": 1})


def test_cancelling_a_reservation_returns_its_stock_once() -> None:
    reserved = Reservation("o1", ReservationStatus.RESERVED, {"MUG": 2})
    released = release(reserved, "o1")
    assert released.status is ReservationStatus.RELEASED
    assert stock_to_return(reserved, released) == {"MUG": 2}
    again = release(released, "o1")
    assert again == released
    assert stock_to_return(released, again) == {}


def test_cancelling_a_rejected_order_returns_nothing() -> None:
    rejected = Reservation("o1", ReservationStatus.REJECTED, short_skus=("MUG",))
    assert release(rejected, "o1") == rejected
    assert stock_to_return(rejected, rejected) == {}


def test_cancelling_an_order_not_seen_yet_remembers_it_as_cancelled() -> None:
    cancelled = release(None, "o1")
    assert cancelled == Reservation("o1", ReservationStatus.CANCELLED)
    assert stock_to_return(None, cancelled) == {}
