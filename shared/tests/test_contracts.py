import pytest

from shared.catalogue import load_catalogue
from shared.contracts import (
    ORDER_EVENTS,
    PAYMENT_COMMANDS,
    REPLY_SOURCES,
    SCHEMAS,
    InventoryReserved,
    Money,
    OrderLine,
    OrderPlaced,
    envelope_for,
    payload_of,
)
from shared.envelope import Envelope, MalformedMessage, parse_envelope


def placed(order_id: str = "order-1") -> OrderPlaced:
    price = Money(amount=1299, currency="EUR")
    return OrderPlaced(
        order_id=order_id,
        customer_email="ada@example.com",
        shipping_country="DE",
        lines=(OrderLine(sku="MUG-001", quantity=2, unit_price=price),),
        total=Money(amount=2598, currency="EUR"),
    )


def test_a_payload_survives_the_wire() -> None:
    envelope = envelope_for(placed())
    received = parse_envelope(envelope.to_json())
    assert payload_of(received, OrderPlaced) == placed()
    assert received.correlation_id == "order-1"


def test_a_reply_is_caused_by_the_message_it_answers() -> None:
    cause = envelope_for(placed())
    reply = envelope_for(InventoryReserved(order_id="order-1"), cause=cause)
    assert reply.causation_id == cause.event_id
    assert reply.correlation_id == cause.correlation_id


def test_every_message_type_has_one_schema() -> None:
    names = [model.__name__ for model in (*ORDER_EVENTS, *PAYMENT_COMMANDS, *REPLY_SOURCES)]
    assert sorted(names) == sorted(SCHEMAS)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"type": "OrderShipped"}, "unknown message type 'OrderShipped'"),
        ({"version": 2}, "unsupported schema version 2"),
        ({"payload": {"order_id": "order-1"}}, "customer_email"),
        ({"correlation_id": "order-2"}, "differs from correlation id"),
    ],
)
def test_a_message_that_breaks_its_contract_says_why(
    change: dict[str, object], complaint: str
) -> None:
    message = envelope_for(placed()).model_dump() | change
    with pytest.raises(MalformedMessage, match=complaint):
        payload_of(Envelope.model_validate(message))


def test_a_consumer_refuses_types_it_does_not_take() -> None:
    with pytest.raises(MalformedMessage, match="not a message this consumer takes"):
        payload_of(envelope_for(placed()), InventoryReserved)


def test_negative_quantities_are_refused() -> None:
    message = envelope_for(placed()).model_dump()
    message["payload"]["lines"][0]["quantity"] = -1
    with pytest.raises(MalformedMessage, match=r"lines\.0\.quantity"):
        payload_of(Envelope.model_validate(message))


def test_the_seed_catalogue_prices_every_product_in_the_same_currencies() -> None:
    products = load_catalogue()
    assert len({product.sku for product in products}) == len(products)
    currencies = {frozenset(product.prices) for product in products}
    assert len(currencies) == 1
    assert any(product.initial_stock == 0 for product in products)
