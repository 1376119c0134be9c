"""What the shop writes to its customers: one message per order event, as text and HTML.

Pure: the service decides when to send, this module only renders. Every value that comes from
an order is escaped in the HTML part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    """In minor units of the currency."""
    currency: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Money


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: str
    customer_email: str
    lines: tuple[OrderLine, ...]
    total: Money


@dataclass(frozen=True, slots=True)
class OrderConfirmed:
    order_id: str
    total: Money


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order_id: str
    reason: str


CustomerEvent = OrderPlaced | OrderConfirmed | OrderCancelled

MINOR_UNIT_DIGITS: Mapping[str, int] = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3}
"""Currencies whose minor unit is not a hundredth; every other currency has two digits."""


@dataclass(frozen=True, slots=True)
class EmailMessage:
    subject: str
    text: str
    html: str


def format_money(money: Money) -> str:
    """``1299 EUR`` minor units as ``12.99 EUR``."""
    digits = MINOR_UNIT_DIGITS.get(money.currency, 2)
    sign = "-" if money.amount < 0 else ""
    whole, fraction = divmod(abs(money.amount), 10**digits)
    decimals = f".{fraction:0{digits}d}" if digits else ""
    return f"{sign}{whole}{decimals} {money.currency}"


def render(event: CustomerEvent, product_names: Mapping[str, str]) -> EmailMessage:
    """The message for an order event; ``product_names`` maps SKUs to names (SKU if absent)."""
    if isinstance(event, OrderPlaced):
        return _placed(event, product_names)
    if isinstance(event, OrderConfirmed):
        return _confirmed(event)
    return _cancelled(event)


def _placed(event: OrderPlaced, product_names: Mapping[str, str]) -> EmailMessage:
    lines = [_line(line, product_names) for line in event.lines]
    total = format_money(event.total)
    text = "\n".join(
        [
            "Thank you for your order.",
            "",
            f"Order: {event.order_id}",
            "",
            *(
                f"  {quantity} x {name} ({sku}) at {unit} = {amount}"
                for name, sku, quantity, unit, amount in lines
            ),
            "",
            f"Total: {total}",
            "",
            "We will write again when your order is confirmed.",
        ]
    )
    rows = "".join(
        f"<tr><td>{escape(name)} ({escape(sku)})</td><td>{quantity}</td>"
        f"<td>{escape(unit)}</td><td>{escape(amount)}</td></tr>"
        for name, sku, quantity, unit, amount in lines
    )
    html = _page(
        "Thank you for your order.",
        event.order_id,
        "<table><thead><tr><th>Item</th><th>Quantity</th><th>Unit price</th><th>Amount</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        f"<p>Total: <strong>{escape(total)}</strong></p>"
        "<p>We will write again when your order is confirmed.</p>",
    )
    return EmailMessage(f"We received your order {event.order_id}", text, html)


def _confirmed(event: OrderConfirmed) -> EmailMessage:
    total = format_money(event.total)
    text = "\n".join(
        [
            "Your order is confirmed: it is paid and on its way to being shipped.",
            "",
            f"Order: {event.order_id}",
            f"Total charged: {total}",
        ]
    )
    html = _page(
        "Your order is confirmed: it is paid and on its way to being shipped.",
        event.order_id,
        f"<p>Total charged: <strong>{escape(total)}</strong></p>",
    )
    return EmailMessage(f"Your order {event.order_id} is confirmed", text, html)


def _cancelled(event: OrderCancelled) -> EmailMessage:
    text = "\n".join(
        [
            "We are sorry: your order has been cancelled.",
            "",
            f"Order: {event.order_id}",
            f"Reason: {event.reason}",
            "",
            "Nothing has been charged; any authorization on your card is released.",
        ]
    )
    html = _page(
        "We are sorry: your order has been cancelled.",
        event.order_id,
        f"<p>Reason: {escape(event.reason)}</p>"
        "<p>Nothing has been charged; any authorization on your card is released.</p>",
    )
    return EmailMessage(f"Your order {event.order_id} has been cancelled", text, html)


def _line(line: OrderLine, product_names: Mapping[str, str]) -> tuple[str, str, int, str, str]:
    amount = Money(line.unit_price.amount * line.quantity, line.unit_price.currency)
    return (
        product_names.get(line.sku, line.sku),
        line.sku,
        line.quantity,
        format_money(line.unit_price),
        format_money(amount),
    )


def _page(headline: str, order_id: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f"<p>{escape(headline)}</p><p>Order: <code>{escape(order_id)}</code></p>{body}"
        "</body></html>"
    )
