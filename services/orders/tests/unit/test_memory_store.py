"""The in-memory event store and outbox keep the contract of the SQL ones."""

from __future__ import annotations

import pytest

from services.orders.adapters.memory import InMemoryDatabase, InMemoryEventStore, InMemoryOutbox
from services.orders.tests.contracts import EventStoreContract, OutboxContract


class TestInMemoryEventStoreAndOutbox(EventStoreContract, OutboxContract):
    @pytest.fixture
    def database(self) -> InMemoryDatabase:
        return InMemoryDatabase()

    @pytest.fixture
    def store(self, database: InMemoryDatabase) -> InMemoryEventStore:
        return InMemoryEventStore(database)

    @pytest.fixture
    def outbox(self, database: InMemoryDatabase) -> InMemoryOutbox:
        return InMemoryOutbox(database)
