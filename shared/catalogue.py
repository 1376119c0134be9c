"""The reference catalogue (SKU, name, prices per currency, initial stock), shared seed data.

Orders price lines from it and inventory seeds its stock from it; each service keeps its own
copy of what it needs in its own store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

SEED_FILE = Path(__file__).with_name("catalogue.json")


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    description: str
    prices: MappingProxyType[str, int]
    initial_stock: int


def _product(entry: dict[str, Any]) -> Product:
    return Product(
        sku=entry["sku"],
        name=entry["name"],
        description=entry["description"],
        prices=MappingProxyType(dict(entry["prices"])),
        initial_stock=int(entry["initial_stock"]),
    )


@cache
def load_catalogue(path: Path = SEED_FILE) -> tuple[Product, ...]:
    """The products of the seed file, in its order."""
    data = json.loads(path.read_text())
    return tuple(_product(entry) for entry in data["products"])
