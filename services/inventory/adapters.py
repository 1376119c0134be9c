"""Inventory's own tables and the atomic reserve/release over them (SQLite or PostgreSQL).

Concurrency: on SQLite every write transaction starts with ``BEGIN IMMEDIATE``
(``shared.database``), so reservations run one at a time. On PostgreSQL the stock rows of an
order are locked with ``SELECT ... FOR UPDATE`` in SKU order (no deadlock between two orders)
and decremented with a conditional ``UPDATE ... WHERE available >= quantity``; the primary key
of ``inventory_reservations`` makes a second decision for the same order fail, and the loser
reads the winner's decision instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    RowMapping,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from services.inventory.domain import (
    Reservation,
    ReservationStatus,
    StockedProduct,
    decide_reservation,
    release,
    stock_to_return,
)
from shared.catalogue import Product, load_catalogue
from shared.database import upsert_insert

metadata = MetaData()

inventory_stock = Table(
    "inventory_stock",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("prices", JSON, nullable=False),
    Column("available", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    CheckConstraint("available >= 0", name="inventory_stock_available_not_negative"),
    CheckConstraint("reserved >= 0", name="inventory_stock_reserved_not_negative"),
)

inventory_reservations = Table(
    "inventory_reservations",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("quantities", JSON, nullable=False),
    Column("short_skus", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ATTEMPTS = 3

T = TypeVar("T")


class StockConflict(RuntimeError):
    """The stock changed between reading and decrementing it; the transaction is retried."""


class SqlStock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seed(self, products: Iterable[Product]) -> int:
        """Add the products not stocked yet with their initial stock; returns how many.
        Safe to run from several cold starts at once: existing rows are left alone."""
        rows = [
            {
                "sku": product.sku,
                "name": product.name,
                "description": product.description,
                "prices": dict(product.prices),
                "available": product.initial_stock,
                "reserved": 0,
            }
            for product in products
        ]
        if not rows:
            return 0
        statement = (
            upsert_insert(self.engine)(inventory_stock)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(inventory_stock.c.sku)
        )
        with self.engine.begin() as connection:
            return len(connection.execute(statement).all())

    def reserve(self, order_id: str, requested: Mapping[str, int]) -> Reservation:
        """Reserve all of ``requested`` for the order or nothing; the decision already taken
        for this order if there is one."""
        return self._retrying(lambda connection: self._reserve(connection, order_id, requested))

    def release(self, order_id: str) -> tuple[Reservation, Mapping[str, int]]:
        """Apply the order's cancellation; the reservation after it and the stock returned."""
        return self._retrying(lambda connection: self._release(connection, order_id))

    def reservation(self, order_id: str) -> Reservation | None:
        with self.engine.connect() as connection:
            return _reservation(connection, order_id)

    def products(self) -> list[StockedProduct]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(inventory_stock).order_by(inventory_stock.c.sku))
            return [_product(row._mapping) for row in rows]

    def product(self, sku: str) -> StockedProduct | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(inventory_stock).where(inventory_stock.c.sku == sku)
            ).one_or_none()
        return None if row is None else _product(row._mapping)

    def _retrying(self, work: Callable[[Connection], T]) -> T:
        """``work`` in a transaction, again after losing a race (a conflicting insert or a
        stock change), at most ``ATTEMPTS`` times."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    return work(connection)
            except (IntegrityError, StockConflict):
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _reserve(
        self, connection: Connection, order_id: str, requested: Mapping[str, int]
    ) -> Reservation:
        stock = connection.execute(
            select(inventory_stock.c.sku, inventory_stock.c.available)
            .where(inventory_stock.c.sku.in_(sorted(requested)))
            .order_by(inventory_stock.c.sku)
            .with_for_update()
        )
        available = {sku: quantity for sku, quantity in stock}
        existing = _reservation(connection, order_id)
        if existing is not None:
            return existing
        decision = decide_reservation(order_id, requested, available)
        for sku, quantity in decision.quantities.items():
            _move_stock(connection, sku, -quantity)
        connection.execute(insert(inventory_reservations).values(_row(decision)))
        return decision

    def _release(
        self, connection: Connection, order_id: str
    ) -> tuple[Reservation, Mapping[str, int]]:
        before = _reservation(connection, order_id, lock=True)
        after = release(before, order_id)
        returned = stock_to_return(before, after)
        for sku, quantity in sorted(returned.items()):
            _move_stock(connection, sku, quantity)
        if before is None:
            connection.execute(insert(inventory_reservations).values(_row(after)))
        elif after != before:
            connection.execute(
                update(inventory_reservations)
                .where(inventory_reservations.c.order_id == order_id)
                .values(_row(after))
            )
        return after, returned


def seeded_stock(engine: Engine) -> SqlStock:
    """The stock with every catalogue product added that is not stocked yet (at cold start)."""
    stock = SqlStock(engine)
    stock.seed(load_catalogue())
    return stock


def _move_stock(connection: Connection, sku: str, delta: int) -> None:
    """Add ``delta`` to the available stock of ``sku`` (and the opposite to its reserved)."""
    statement = (
        update(inventory_stock)
        .where(inventory_stock.c.sku == sku)
        .values(
            available=inventory_stock.c.available + delta,
            reserved=inventory_stock.c.reserved - delta,
        )
    )
    if delta < 0:
        statement = statement.where(inventory_stock.c.available >= -delta)
    else:
        statement = statement.where(inventory_stock.c.reserved >= delta)
    if connection.execute(statement).rowcount != 1:
        raise StockConflict(f"stock of {sku} cannot move by {delta}")


def _reservation(connection: Connection, order_id: str, lock: bool = False) -> Reservation | None:
    query = select(inventory_reservations).where(inventory_reservations.c.order_id == order_id)
    row = connection.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        return None
    return Reservation(
        order_id=row.order_id,
        status=ReservationStatus(row.status),
        quantities={str(sku): int(qty) for sku, qty in row.quantities.items()},
        short_skus=tuple(row.short_skus),
    )


def _row(reservation: Reservation) -> dict[str, Any]:
    return {
        "order_id": reservation.order_id,
        "status": reservation.status.value,
        "quantities": dict(reservation.quantities),
        "short_skus": list(reservation.short_skus),
        "updated_at": datetime.now(UTC),
    }


def _product(row: RowMapping) -> StockedProduct:
    return StockedProduct(
        sku=row["sku"],
        name=row["name"],
        description=row["description"],
        prices={str(currency): int(amount) for currency, amount in row["prices"].items()},
        available=int(row["available"]),
    )
