"""Deterministic fraud scoring of an OrderPlaced: a score from 0 to 100 and the reasons.

Each rule that fires adds its points (the sum is capped at 100); at or above the flag
threshold the order is flagged for review, below it passes. No single signal reaches the
default threshold on its own: routing sends an order here because of its amount or its
country, and it is the combination with the other signals that decides.

| rule | fires when | points |
|---|---|---|
| ``very_high_total`` | total >= ``very_high_total`` minor units (default 200000) | 40 |
| ``high_total`` | otherwise, total >= ``high_total`` (default 50000) | 20 |
| ``outside_home_market`` | shipping country not in ``home_countries`` | 25 |
| ``disposable_email`` | the e-mail domain (or a parent domain) is a disposable-mail service | 35 |
| ``bulk_high_value_item`` | a line of >= ``bulk_quantity`` (3) units priced >= 50000 each | 30 |
| ``many_lines`` | the basket has >= ``many_lines`` (8) lines | 10 |

Examples with the defaults: one 1299.00 EUR watch to Germany scores 20 and passes; three of
them score 70 (very high total + bulk) and are flagged; a 30.00 EUR mug to the US scores 25 and
passes, the same order from a disposable address scores 60 and passes, and adds up to 85 with a
bulk basket.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

DISPOSABLE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "10minutemail.com",
        "dispostable.com",
        "getnada.com",
        "guerrillamail.com",
        "mailinator.com",
        "maildrop.cc",
        "sharklasers.com",
        "tempmail.com",
        "temp-mail.org",
        "throwawaymail.com",
        "trashmail.com",
        "yopmail.com",
    }
)
DEFAULT_HOME_COUNTRIES: tuple[str, ...] = ("AT", "BE", "DE", "ES", "FR", "IT", "NL")


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
    """The order as the fraud rules read it."""

    order_id: str
    customer_email: str
    shipping_country: str
    lines: tuple[OrderLine, ...]
    total: Money


@dataclass(frozen=True, slots=True)
class ScoringRules:
    """The thresholds of the rules above; amounts in minor units of the order's currency."""

    flag_threshold: int = 70
    high_total: int = 50_000
    very_high_total: int = 200_000
    home_countries: tuple[str, ...] = DEFAULT_HOME_COUNTRIES
    disposable_domains: frozenset[str] = field(default=DISPOSABLE_EMAIL_DOMAINS)
    high_value_unit_price: int = 50_000
    bulk_quantity: int = 3
    many_lines: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.flag_threshold <= 100:
            raise ValueError(f"flag threshold must be within 1..100, got {self.flag_threshold}")
        if not 0 < self.high_total <= self.very_high_total:
            raise ValueError(
                f"need 0 < high_total ({self.high_total}) <= very_high_total "
                f"({self.very_high_total})"
            )
        if self.bulk_quantity < 2 or self.many_lines < 2:
            raise ValueError("bulk_quantity and many_lines must be at least 2")


@dataclass(frozen=True, slots=True)
class Signal:
    rule: str
    points: int
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Assessment:
    score: int
    signals: tuple[Signal, ...]
    flagged: bool

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(str(signal) for signal in self.signals)


def assess(order: OrderPlaced, rules: ScoringRules) -> Assessment:
    signals = tuple(_signals(order, rules))
    score = min(100, sum(signal.points for signal in signals))
    return Assessment(score=score, signals=signals, flagged=score >= rules.flag_threshold)


def email_domain(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(".").lower()


def _is_disposable(domain: str, disposable: frozenset[str]) -> bool:
    labels = domain.split(".")
    return any(".".join(labels[start:]) in disposable for start in range(len(labels) - 1))


def _signals(order: OrderPlaced, rules: ScoringRules) -> Iterator[Signal]:
    total = order.total
    if total.amount >= rules.very_high_total:
        yield Signal(
            "very_high_total", 40, f"{total.amount} {total.currency} >= {rules.very_high_total}"
        )
    elif total.amount >= rules.high_total:
        yield Signal("high_total", 20, f"{total.amount} {total.currency} >= {rules.high_total}")
    if order.shipping_country not in rules.home_countries:
        yield Signal("outside_home_market", 25, f"ships to {order.shipping_country}")
    domain = email_domain(order.customer_email)
    if _is_disposable(domain, rules.disposable_domains):
        yield Signal("disposable_email", 35, f"{domain} is a disposable-mail domain")
    bulk = [
        line
        for line in order.lines
        if line.unit_price.amount >= rules.high_value_unit_price
        and line.quantity >= rules.bulk_quantity
    ]
    if bulk:
        skus = ", ".join(f"{line.quantity} x {line.sku}" for line in bulk)
        yield Signal("bulk_high_value_item", 30, skus)
    if len(order.lines) >= rules.many_lines:
        yield Signal("many_lines", 10, f"{len(order.lines)} lines")
