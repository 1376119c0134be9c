"""Names of one analytics test that no other test uses, so its figures are its own."""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass, field


@dataclass
class Scenario:
    """A currency, a SKU and a cancellation reason of its own, and the orders it made."""

    currency: str = field(
        default_factory=lambda: "Q" + "".join(random.choices(string.ascii_uppercase, k=2))
    )
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    orders: list[str] = field(default_factory=list)

    @property
    def sku(self) -> str:
        return f"SKU-{self.tag}"

    @property
    def reason(self) -> str:
        return f"reason {self.tag}"

    def order_id(self) -> str:
        order_id = f"ord-{uuid.uuid4().hex}"
        self.orders.append(order_id)
        return order_id
