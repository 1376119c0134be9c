from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.inventory.adapters import SqlStock, metadata
from services.inventory.tests.shelf import Scenario, Shelf
from shared.tests.bus_capture import BusCapture, bus_fixture
from shared.tests.databases import service_engine

inventory_bus = bus_fixture("shop.inventory")


@pytest.fixture
def shelf(database_url: str) -> Iterator[Shelf]:
    engine = service_engine(database_url, metadata)
    shelf = Shelf(SqlStock(engine))
    yield shelf
    shelf.remove()
    engine.dispose()


@pytest.fixture
def scenario(shelf: Shelf, inventory_bus: BusCapture) -> Iterator[Scenario]:
    scenario = Scenario(shelf.stock, inventory_bus)
    yield scenario
    scenario.remove()
