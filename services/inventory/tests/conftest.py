from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.inventory.adapters import SqlStock, metadata
from services.inventory.tests.shelf import Shelf
from shared.database import create_engine_for, create_tables
from shared.tests.bus_capture import bus_fixture

inventory_bus = bus_fixture("shop.inventory")


@pytest.fixture
def shelf(database_url: str) -> Iterator[Shelf]:
    engine = create_engine_for(database_url)
    create_tables(metadata, engine)
    shelf = Shelf(SqlStock(engine))
    yield shelf
    shelf.remove()
    engine.dispose()
