from services.email.domain import (
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    format_money,
    render,
)


def placed() -> OrderPlaced:
    return OrderPlaced(
        order_id="ord-7f3a",
        customer_email="ada@example.com",
        lines=(
            OrderLine(sku="MUG-001", quantity=2, unit_price=Money(amount=1299, currency="EUR")),
            OrderLine(sku="NEW-999", quantity=1, unit_price=Money(amount=500, currency="EUR")),
        ),
        total=Money(amount=3098, currency="EUR"),
    )


def test_money_is_written_with_the_digits_of_its_currency() -> None:
    assert format_money(Money(amount=1299, currency="EUR")) == "12.99 EUR"
    assert format_money(Money(amount=5, currency="USD")) == "0.05 USD"
    assert format_money(Money(amount=1500, currency="JPY")) == "1500 JPY"
    assert format_money(Money(amount=1234, currency="KWD")) == "1.234 KWD"
    assert format_money(Money(amount=-250, currency="GBP")) == "-2.50 GBP"


def test_placed_message_lists_every_line_and_the_total() -> None:
    message = render(placed(), {"MUG-001": "Event Mug"})
    assert message.subject == "We received your order ord-7f3a"
    assert "2 x Event Mug (MUG-001) at 12.99 EUR = 25.98 EUR" in message.text
    assert "1 x NEW-999 (NEW-999) at 5.00 EUR = 5.00 EUR" in message.text
    assert "Total: 30.98 EUR" in message.text
    assert "<td>Event Mug (MUG-001)</td><td>2</td><td>12.99 EUR</td><td>25.98 EUR</td>" in (
        message.html
    )
    assert "<strong>30.98 EUR</strong>" in message.html


def test_confirmed_message_names_the_order_and_the_total() -> None:
    message = render(OrderConfirmed(order_id="ord-1", total=Money(amount=999, currency="GBP")), {})
    assert message.subject == "Your order ord-1 is confirmed"
    assert "Total charged: 9.99 GBP" in message.text
    assert "<strong>9.99 GBP</strong>" in message.html


def test_cancelled_message_gives_the_reason() -> None:
    message = render(OrderCancelled(order_id="ord-2", reason="payment declined: expired"), {})
    assert message.subject == "Your order ord-2 has been cancelled"
    assert "Reason: payment declined: expired" in message.text
    assert "<p>Reason: payment declined: expired</p>" in message.html


def test_values_from_the_order_are_escaped_in_html_only() -> None:
    hostile = "<script>alert('x')</script> & co"
    message = render(OrderCancelled(order_id="ord-<b>", reason=hostile), {})
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in message.html
    assert "<code>ord-&lt;b&gt;</code>" in message.html
    assert f"Reason: {hostile}" in message.text


def test_product_names_are_escaped_too() -> None:
    message = render(placed(), {"MUG-001": "Mug <i>& Co</i>"})
    assert "Mug &lt;i&gt;&amp; Co&lt;/i&gt; (MUG-001)" in message.html
