from collections.abc import Mapping

import pytest

from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.domain.events import AuthorizePayment, OrderLine, OrderPlaced
from services.orders.domain.model import (
    InvalidOrder,
    OrderAlreadyPlaced,
    OrderState,
    OrderStatus,
    decide,
    fold,
)
from services.orders.domain.money import Money

CATALOGUE: Mapping[str, Money] = {
    "MUG": Money(1250, "EUR"),
    "TEE": Money(1999, "EUR"),
    "CAP": Money(900, "USD"),
}


def place_order(**overrides: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "order_id": "o-1",
        "customer_email": "ada@example.com",
        "shipping_country": "DE",
        "currency": "EUR",
        "lines": (LineRequest("MUG", 2), LineRequest("TEE", 1)),
        "payment_token": "tok_approve",
    }
    fields.update(overrides)
    return PlaceOrder(**fields)  # type: ignore[arg-type]


def rejection(command: PlaceOrder) -> str:
    with pytest.raises(InvalidOrder) as caught:
        decide(command, OrderState(), catalogue=CATALOGUE)
    return str(caught.value)


def test_placing_prices_from_the_catalogue_and_asks_for_authorization() -> None:
    decision = decide(place_order(), OrderState(), catalogue=CATALOGUE)

    total = Money(2 * 1250 + 1999, "EUR")
    assert decision == [
        OrderPlaced(
            order_id="o-1",
            customer_email="ada@example.com",
            shipping_country="DE",
            lines=(
                OrderLine("MUG", 2, Money(1250, "EUR")),
                OrderLine("TEE", 1, Money(1999, "EUR")),
            ),
            total=total,
        ),
        AuthorizePayment("o-1", total, "ada@example.com", "tok_approve"),
    ]


def test_a_placed_order_awaits_replies() -> None:
    placed = decide(place_order(), OrderState(), catalogue=CATALOGUE)[0]
    assert isinstance(placed, OrderPlaced)
    state = fold([placed])
    assert state.status is OrderStatus.AWAITING_REPLIES
    assert state.total == Money(4499, "EUR")
    assert state.version == 1


def test_an_order_is_placed_only_once() -> None:
    placed = decide(place_order(), OrderState(), catalogue=CATALOGUE)[0]
    assert isinstance(placed, OrderPlaced)
    with pytest.raises(OrderAlreadyPlaced, match="already been placed"):
        decide(place_order(), fold([placed]), catalogue=CATALOGUE)


def test_items_must_not_be_empty() -> None:
    assert "at least one item" in rejection(place_order(lines=()))


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_quantities_must_be_positive_integers(quantity: object) -> None:
    message = rejection(place_order(lines=(LineRequest("MUG", quantity),)))  # type: ignore[arg-type]
    assert "quantity of 'MUG' must be a positive integer" in message


def test_skus_must_be_in_the_catalogue() -> None:
    assert "item 2: unknown sku 'HAT'" in rejection(
        place_order(lines=(LineRequest("MUG", 1), LineRequest("HAT", 1)))
    )


def test_the_catalogue_is_required_to_know_skus() -> None:
    with pytest.raises(InvalidOrder, match="unknown sku 'MUG'"):
        decide(place_order(), OrderState())


def test_a_sku_appears_once() -> None:
    message = rejection(place_order(lines=(LineRequest("MUG", 1), LineRequest("MUG", 2))))
    assert "sku 'MUG' appears more than once" in message


def test_prices_must_be_in_the_order_currency() -> None:
    assert "'CAP' is priced in USD, not EUR" in rejection(
        place_order(lines=(LineRequest("CAP", 1),))
    )


@pytest.mark.parametrize("currency", ["", "eur", "XYZ", "EURO"])
def test_currency_must_be_known(currency: str) -> None:
    assert f"currency {currency!r} is not a known ISO 4217 code" in rejection(
        place_order(currency=currency)
    )


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada @example.com",
        "a@b@example.com",
        "ada@-example.com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_email_must_be_valid(email: str) -> None:
    assert "is not a valid e-mail address" in rejection(place_order(customer_email=email))


@pytest.mark.parametrize("email", ["ada@example.com", "ada.l+shop@mail.example.co.uk"])
def test_valid_emails_are_accepted(email: str) -> None:
    assert decide(place_order(customer_email=email), OrderState(), catalogue=CATALOGUE)


@pytest.mark.parametrize("country", ["", "D", "DEU", "de", "XX", "UK", "12"])
def test_shipping_country_must_be_an_iso_alpha_2_code(country: str) -> None:
    assert "is not an ISO 3166-1 alpha-2 code" in rejection(place_order(shipping_country=country))


@pytest.mark.parametrize("country", ["DE", "GB", "US", "JP", "ZW"])
def test_real_countries_are_accepted(country: str) -> None:
    assert decide(place_order(shipping_country=country), OrderState(), catalogue=CATALOGUE)


@pytest.mark.parametrize("token", ["", "tok approve", "tok/1", "t" * 65])
def test_payment_token_must_be_a_plain_token(token: str) -> None:
    assert "payment token" in rejection(place_order(payment_token=token))


def test_the_payment_token_reaches_the_authorization_only() -> None:
    placed, authorize = decide(
        place_order(payment_token="tok_insufficient_funds"), OrderState(), catalogue=CATALOGUE
    )
    assert isinstance(authorize, AuthorizePayment)
    assert authorize.payment_token == "tok_insufficient_funds"
    assert "tok_insufficient_funds" not in repr(placed)


@pytest.mark.parametrize("order_id", ["", "   "])
def test_order_id_must_not_be_empty(order_id: str) -> None:
    assert "order id must not be empty" in rejection(place_order(order_id=order_id))


def test_every_broken_rule_is_named_at_once() -> None:
    with pytest.raises(InvalidOrder) as caught:
        decide(
            place_order(customer_email="nope", shipping_country="ZZ", lines=()),
            OrderState(),
            catalogue=CATALOGUE,
        )
    assert len(caught.value.problems) == 3
    assert str(caught.value).startswith("invalid order: ")
