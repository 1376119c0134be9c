import pytest

from services.orders.domain.money import InvalidMoney, Money


def test_money_adds_and_multiplies_in_minor_units() -> None:
    assert Money(250, "EUR") * 3 + Money(1, "EUR") == Money(751, "EUR")


def test_money_is_immutable() -> None:
    money = Money(1, "EUR")
    with pytest.raises(AttributeError):
        money.amount = 2  # type: ignore[misc]


@pytest.mark.parametrize("amount", [1.5, "100", True, None])
def test_amount_must_be_an_integer(amount: object) -> None:
    with pytest.raises(InvalidMoney, match="integer of minor units"):
        Money(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["", "eur", "XXX", "EURO"])
def test_currency_must_be_known(currency: str) -> None:
    with pytest.raises(InvalidMoney, match="unknown currency"):
        Money(1, currency)


def test_different_currencies_do_not_add() -> None:
    with pytest.raises(InvalidMoney, match="cannot add USD to EUR"):
        Money(1, "EUR") + Money(1, "USD")
