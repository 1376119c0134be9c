"""Atomic reservations on a real database (SQLite file, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import TypeVar

import pytest
from sqlalchemy import delete

from services.inventory.domain import Reservation, ReservationStatus
from services.inventory.store import InventoryStore, inventory_reservations, inventory_stock
from shared.catalogue import Product, load_catalogue
from shared.database import create_engine_for

pytestmark = pytest.mark.integration

T = TypeVar("T")


class Shelf:
    """Products and orders with names no other test uses, removed afterwards."""

    def __init__(self, store: InventoryStore) -> None:
        self.store = store
        self.prefix = f"T{uuid.uuid4().hex[:10].upper()}"

    def product(self, stock: int, name: str = "A") -> str:
        sku = f"{self.prefix}-{name}"
        self.store.seed(
            [Product(sku, f"Test {name}", "A test product", MappingProxyType({"EUR": 100}), stock)]
        )
        return sku

    def order(self, number: int = 0) -> str:
        return f"ord-{self.prefix}-{number}"

    def available(self, sku: str) -> int:
        product = self.store.product(sku)
        assert product is not None
        return product.available

    def remove(self) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(
                delete(inventory_stock).where(inventory_stock.c.sku.like(f"{self.prefix}-%"))
            )
            connection.execute(
                delete(inventory_reservations).where(
                    inventory_reservations.c.order_id.like(f"ord-{self.prefix}-%")
                )
            )


@pytest.fixture
def shelf(database_url: str) -> Iterator[Shelf]:
    engine = create_engine_for(database_url)
    store = InventoryStore(engine)
    store.create_tables()
    shelf = Shelf(store)
    yield shelf
    shelf.remove()
    engine.dispose()


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
    shelf.store.reserve(shelf.order(), {sku: 2})
    shelf.store.seed(load_catalogue())

    again = [
        Product(sku, "Renamed", "Seeded twice", MappingProxyType({"EUR": 1}), initial_stock=50)
    ]
    assert all_at_once([lambda: shelf.store.seed(again) for _ in range(4)]) == [0, 0, 0, 0]
    assert shelf.available(sku) == 1
    stocked = {product.sku for product in shelf.store.products()}
    assert {product.sku for product in load_catalogue()} <= stocked


def test_concurrent_first_seeding_inserts_each_product_once(shelf: Shelf) -> None:
    products = [
        Product(f"{shelf.prefix}-{n}", "P", "D", MappingProxyType({"EUR": 1}), 5) for n in range(5)
    ]
    inserted = all_at_once([lambda: shelf.store.seed(products) for _ in range(4)])
    assert sum(inserted) == len(products)
    assert [shelf.available(product.sku) for product in products] == [5] * 5


def test_two_orders_racing_for_the_last_unit_exactly_one_gets_it(shelf: Shelf) -> None:
    sku = shelf.product(stock=1)
    orders = [shelf.order(n) for n in range(8)]

    decisions = all_at_once(
        [lambda order=order: shelf.store.reserve(order, {sku: 1}) for order in orders]
    )

    statuses = [decision.status for decision in decisions]
    assert statuses.count(ReservationStatus.RESERVED) == 1
    assert statuses.count(ReservationStatus.REJECTED) == 7
    assert {d.short_skus for d in decisions if d.status is ReservationStatus.REJECTED} == {(sku,)}
    assert shelf.available(sku) == 0


def test_many_orders_take_exactly_the_stock_there_is(shelf: Shelf) -> None:
    scarce, plenty = shelf.product(stock=5, name="S"), shelf.product(stock=100, name="P")
    orders = [shelf.order(n) for n in range(16)]

    decisions = all_at_once(
        [lambda order=order: shelf.store.reserve(order, {plenty: 2, scarce: 1}) for order in orders]
    )

    reserved = [d for d in decisions if d.status is ReservationStatus.RESERVED]
    assert len(reserved) == 5
    assert (shelf.available(scarce), shelf.available(plenty)) == (0, 100 - 2 * 5)


def test_a_short_line_reserves_none_of_the_other_lines(shelf: Shelf) -> None:
    short, fine = shelf.product(stock=1, name="S"), shelf.product(stock=10, name="F")

    decision = shelf.store.reserve(shelf.order(), {fine: 3, short: 2, f"{shelf.prefix}-X": 1})

    assert decision.short_skus == tuple(sorted([short, f"{shelf.prefix}-X"]))
    assert (shelf.available(short), shelf.available(fine)) == (1, 10)


def test_the_same_order_placed_twice_at_once_reserves_once(shelf: Shelf) -> None:
    sku = shelf.product(stock=10)
    order = shelf.order()

    decisions = all_at_once([lambda: shelf.store.reserve(order, {sku: 3}) for _ in range(4)])

    assert {decision.status for decision in decisions} == {ReservationStatus.RESERVED}
    assert shelf.available(sku) == 7


def test_a_rejected_order_keeps_its_answer_when_stock_comes_back(shelf: Shelf) -> None:
    sku = shelf.product(stock=1)
    first, second = shelf.order(1), shelf.order(2)
    shelf.store.reserve(first, {sku: 1})
    assert shelf.store.reserve(second, {sku: 1}).status is ReservationStatus.REJECTED

    shelf.store.release(first)

    assert shelf.store.reserve(second, {sku: 1}).status is ReservationStatus.REJECTED
    assert shelf.available(sku) == 1


def test_release_returns_what_was_reserved_once(shelf: Shelf) -> None:
    sku = shelf.product(stock=4)
    order = shelf.order()
    shelf.store.reserve(order, {sku: 3})

    results = all_at_once([lambda: shelf.store.release(order) for _ in range(4)])

    assert sorted(len(returned) for _, returned in results) == [0, 0, 0, 1]
    assert shelf.available(sku) == 4
    assert shelf.store.reservation(order) == Reservation(
        order, ReservationStatus.RELEASED, {sku: 3}
    )


def test_a_cancellation_before_the_order_means_it_never_reserves(shelf: Shelf) -> None:
    sku = shelf.product(stock=4)
    order = shelf.order()

    reservation, returned = shelf.store.release(order)
    assert (reservation.status, returned) == (ReservationStatus.CANCELLED, {})

    assert shelf.store.reserve(order, {sku: 1}).status is ReservationStatus.CANCELLED
    assert shelf.available(sku) == 4
