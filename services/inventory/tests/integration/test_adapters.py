"""Atomic reservations on a real database (SQLite file, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import MappingProxyType
from typing import TypeVar

import pytest

from services.inventory.domain import Reservation, ReservationStatus
from services.inventory.tests.shelf import Shelf
from shared.catalogue import Product, load_catalogue

pytestmark = pytest.mark.integration

T = TypeVar("T")


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls on as many threads, released together."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_seeding_adds_the_catalogue_once_and_keeps_the_stock(shelf: Shelf) -> None:
    sku = shelf.product(stock=3)
    shelf.stock.reserve(shelf.order(), {sku: 2})
    shelf.stock.seed(load_catalogue())

    again = [
        Product(sku, "Renamed", "Seeded twice", MappingProxyType({"EUR": 1}), initial_stock=50)
    ]
    assert all_at_once([lambda: shelf.stock.seed(again) for _ in range(4)]) == [0, 0, 0, 0]
    assert shelf.available(sku) == 1
    stocked = {product.sku for product in shelf.stock.products()}
    assert {product.sku for product in load_catalogue()} <= stocked


def test_concurrent_first_seeding_inserts_each_product_once(shelf: Shelf) -> None:
    products = [
        Product(f"{shelf.prefix}-{n}", "P", "D", MappingProxyType({"EUR": 1}), 5) for n in range(5)
    ]
    inserted = all_at_once([lambda: shelf.stock.seed(products) for _ in range(4)])
    assert sum(inserted) == len(products)
    assert [shelf.available(product.sku) for product in products] == [5] * 5


def test_two_orders_racing_for_the_last_unit_exactly_one_gets_it(shelf: Shelf) -> None:
    sku = shelf.product(stock=1)
    orders = [shelf.order(n) for n in range(8)]

    decisions = all_at_once([partial(shelf.stock.reserve, order, {sku: 1}) for order in orders])

    statuses = [decision.status for decision in decisions]
    assert statuses.count(ReservationStatus.RESERVED) == 1
    assert statuses.count(ReservationStatus.REJECTED) == 7
    assert {d.short_skus for d in decisions if d.status is ReservationStatus.REJECTED} == {(sku,)}
    assert shelf.available(sku) == 0


def test_many_orders_take_exactly_the_stock_there_is(shelf: Shelf) -> None:
    scarce, plenty = shelf.product(stock=5, name="S"), shelf.product(stock=100, name="P")
    orders = [shelf.order(n) for n in range(16)]

    decisions = all_at_once(
        [partial(shelf.stock.reserve, order, {plenty: 2, scarce: 1}) for order in orders]
    )

    reserved = [d for d in decisions if d.status is ReservationStatus.RESERVED]
    assert len(reserved) == 5
    assert (shelf.available(scarce), shelf.available(plenty)) == (0, 100 - 2 * 5)


def test_a_short_line_reserves_none_of_the_other_lines(shelf: Shelf) -> None:
    short, fine = shelf.product(stock=1, name="S"), shelf.product(stock=10, name="F")

    decision = shelf.stock.reserve(shelf.order(), {fine: 3, short: 2, f"{shelf.prefix}-X": 1})

    assert decision.short_skus == tuple(sorted([short, f"{shelf.prefix}-X"]))
    assert (shelf.available(short), shelf.available(fine)) == (1, 10)


def test_the_same_order_placed_twice_at_once_reserves_once(shelf: Shelf) -> None:
    sku = shelf.product(stock=10)
    order = shelf.order()

    decisions = all_at_once([lambda: shelf.stock.reserve(order, {sku: 3}) for _ in range(4)])

    assert {decision.status for decision in decisions} == {ReservationStatus.RESERVED}
    assert shelf.available(sku) == 7


def test_a_rejected_order_keeps_its_answer_when_stock_comes_back(shelf: Shelf) -> None:
    sku = shelf.product(stock=1)
    first, second = shelf.order(1), shelf.order(2)
    shelf.stock.reserve(first, {sku: 1})
    assert shelf.stock.reserve(second, {sku: 1}).status is ReservationStatus.REJECTED

    shelf.stock.release(first)

    assert shelf.stock.reserve(second, {sku: 1}).status is ReservationStatus.REJECTED
    assert shelf.available(sku) == 1


def test_release_returns_what_was_reserved_once(shelf: Shelf) -> None:
    sku = shelf.product(stock=4)
    order = shelf.order()
    shelf.stock.reserve(order, {sku: 3})

    results = all_at_once([lambda: shelf.stock.release(order) for _ in range(4)])

    assert sorted(len(returned) for _, returned in results) == [0, 0, 0, 1]
    assert shelf.available(sku) == 4
    assert shelf.stock.reservation(order) == Reservation(
        order, ReservationStatus.RELEASED, {sku: 3}
    )


def test_a_cancellation_before_the_order_means_it_never_reserves(shelf: Shelf) -> None:
    sku = shelf.product(stock=4)
    order = shelf.order()

    reservation, returned = shelf.stock.release(order)
    assert (reservation.status, returned) == (ReservationStatus.CANCELLED, {})

    assert shelf.stock.reserve(order, {sku: 1}).status is ReservationStatus.CANCELLED
    assert shelf.available(sku) == 4
