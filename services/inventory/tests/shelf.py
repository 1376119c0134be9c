"""Products and orders of one inventory test, named so no other test uses them, and the bus
its Lambda replies on."""

from __future__ import annotations

import uuid
from types import MappingProxyType

from sqlalchemy import delete

from services.inventory.adapters import SqlStock, inventory_reservations, inventory_stock
from shared.catalogue import Product
from shared.consumer import ConsumerSettings
from shared.contracts import OrderPlaced, envelope_for
from shared.envelope import Envelope
from shared.tests.bus_capture import BusCapture
from shared.tests.idempotency_records import forget_service


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


class Scenario(Shelf):
    """A shelf of its own, its orders as OrderPlaced, and what the Lambda replied on the bus."""

    def __init__(self, stock: SqlStock, bus: BusCapture) -> None:
        super().__init__(stock)
        self.bus = bus
        self.service = f"inventory-{self.prefix.lower()}"

    def placed(self, lines: dict[str, int], number: int = 0) -> Envelope:
        price = {"amount": 500, "currency": "EUR"}
        return envelope_for(
            OrderPlaced.model_validate(
                {
                    "order_id": self.order(number),
                    "customer_email": "ada@example.com",
                    "shipping_country": "DE",
                    "lines": [
                        {"sku": sku, "quantity": quantity, "unit_price": price}
                        for sku, quantity in lines.items()
                    ],
                    "total": {"amount": 500 * sum(lines.values()), "currency": "EUR"},
                }
            )
        )

    def settings(self, database_url: str) -> ConsumerSettings:
        return ConsumerSettings(
            database_url=database_url, event_bus_name=self.bus.bus_name, service_name=self.service
        )

    def remove(self) -> None:
        super().remove()
        with self.stock.engine.begin() as connection:
            forget_service(connection, self.service)
