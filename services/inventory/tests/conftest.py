from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.inventory.adapters import SqlStock, metadata
from services.inventory.tests.shelf import Shelf
from shared.tests.bus_capture import bus_fixture
from shared.tests.databases import service_engine

inventory_bus = bus_fixture("shop.inventory")


@pytest.fixture
def shelf(database_url: str) -> Iterator[Shelf]:
    engine = service_engine(database_url, metadata)
    shelf = Shelf(SqlStock(engine))
    yield shelf
    shelf.remove()
    engine.dispose()
