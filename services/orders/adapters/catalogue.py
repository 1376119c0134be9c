"""Catalogue prices from the shared reference catalogue (``shared/catalogue.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from services.orders.domain.money import InvalidMoney, Money
from shared.catalogue import load_catalogue


class ReferenceCatalogue:
    """The ``Catalogue`` port on the shared reference catalogue."""

    def prices_in(self, currency: str) -> Mapping[str, Money]:
        return _prices_in(currency)


@lru_cache(maxsize=64)
def _prices_in(currency: str) -> Mapping[str, Money]:
    prices: dict[str, Money] = {}
    for product in load_catalogue():
        try:
            if currency in product.prices:
                prices[product.sku] = Money(product.prices[currency], currency)
            else:
                first_currency, amount = next(iter(product.prices.items()))
                prices[product.sku] = Money(amount, first_currency)
        except InvalidMoney:
            continue
    return MappingProxyType(prices)
