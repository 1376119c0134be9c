"""Money as integer minor units of an ISO 4217 currency."""

from __future__ import annotations

from dataclasses import dataclass

_ISO_4217_CODES = """
AED AUD BGN BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF IDR ILS INR ISK JPY KRW MXN MYR NOK
NZD PHP PLN RON SEK SGD THB TRY USD ZAR
"""
KNOWN_CURRENCIES: frozenset[str] = frozenset(_ISO_4217_CODES.split())


class InvalidMoney(ValueError):
    """An amount or currency that cannot be money."""


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidMoney(f"amount must be an integer of minor units, got {self.amount!r}")
        if self.currency not in KNOWN_CURRENCIES:
            raise InvalidMoney(f"unknown currency {self.currency!r}, expected an ISO 4217 code")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise InvalidMoney(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} minor units"
