"""``OrderService`` on the in-memory event store, priced from a fixed catalogue: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from services.orders.adapters.memory import InMemoryDatabase, InMemoryEventStore
from services.orders.domain.money import Money
from services.orders.service import OrderService

PRICES = {
    "EUR": {"MUG-001": Money(1299, "EUR"), "STICK-004": Money(499, "EUR")},
    "USD": {"MUG-001": Money(1399, "USD")},
}


class FixedCatalogue:
    def prices_in(self, currency: str) -> Mapping[str, Money]:
        return PRICES.get(currency, {})


@pytest.fixture
def database() -> InMemoryDatabase:
    return InMemoryDatabase()


@pytest.fixture
def store(database: InMemoryDatabase) -> InMemoryEventStore:
    return InMemoryEventStore(database)


@pytest.fixture
def service(store: InMemoryEventStore) -> OrderService:
    return OrderService(store, FixedCatalogue())


OutboxOf = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def outbox_of(database: InMemoryDatabase) -> OutboxOf:
    """The outbox messages of an order, in order: destination, group and event id with the
    envelope's fields."""

    def outbox_of(order_id: str) -> list[dict[str, Any]]:
        return [
            {
                "destination": r.destination,
                "group_id": r.group_id,
                "event_id": None if r.event_id is None else str(r.event_id),
                **r.body,
            }
            for r in database.outbox_records()
            if r.body.get("correlation_id") == order_id
        ]

    return outbox_of
