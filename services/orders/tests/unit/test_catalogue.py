"""Prices from the reference catalogue."""

from __future__ import annotations

from services.orders.adapters.catalogue import ReferenceCatalogue
from services.orders.domain.money import Money

CATALOGUE = ReferenceCatalogue()


def test_the_catalogue_prices_in_the_requested_currency() -> None:
    assert CATALOGUE.prices_in("USD")["MUG-001"] == Money(1399, "USD")
    assert CATALOGUE.prices_in("GBP")["WATCH-006"] == Money(114900, "GBP")


def test_a_product_without_a_price_in_the_currency_keeps_one_it_has() -> None:
    assert CATALOGUE.prices_in("JPY")["MUG-001"].currency != "JPY"
