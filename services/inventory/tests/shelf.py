"""Products and orders of one inventory test, named so no other test uses them."""

from __future__ import annotations

import uuid
from types import MappingProxyType

from sqlalchemy import delete

from services.inventory.adapters import SqlStock, inventory_reservations, inventory_stock
from shared.catalogue import Product


class Shelf:
    """Products and orders with names no other test uses, removed afterwards."""

    def __init__(self, stock: SqlStock) -> None:
        self.stock = stock
        self.prefix = f"T{uuid.uuid4().hex[:10].upper()}"

    def product(self, stock: int, name: str = "A") -> str:
        sku = f"{self.prefix}-{name}"
        self.stock.seed(
            [Product(sku, f"Test {name}", "A test product", MappingProxyType({"EUR": 100}), stock)]
        )
        return sku

    def order(self, number: int = 0) -> str:
        return f"ord-{self.prefix}-{number}"

    def available(self, sku: str) -> int:
        product = self.stock.product(sku)
        assert product is not None
        return product.available

    def remove(self) -> None:
        with self.stock.engine.begin() as connection:
            connection.execute(
                delete(inventory_stock).where(inventory_stock.c.sku.like(f"{self.prefix}-%"))
            )
            connection.execute(
                delete(inventory_reservations).where(
                    inventory_reservations.c.order_id.like(f"ord-{self.prefix}-%")
                )
            )
