"""The fraud routing policy: one definition, two complementary EventBridge rule patterns.

An OrderPlaced is risky when its total (minor units) is at or above a threshold, or when it ships
to a country outside an allowed list. `fraud-screening` matches exactly the risky orders and
`fraud-fast-pass` exactly the others, so every order gets one verdict. Both patterns are built
here from the same two inputs; the template splices CloudFormation parameters into them
(`cloudformation_pattern`), tests and tools use concrete values (`FraudPolicy`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.contracts import ORDERS_SOURCE, OrderPlaced

ORDER_PLACED = OrderPlaced.__name__

_THRESHOLD_MARK = "@@threshold@@"
_COUNTRIES_MARK = "@@countries@@"


def screening_pattern(threshold: Any, allowed_countries: list[Any]) -> dict[str, Any]:
    """OrderPlaced whose total is at or above the threshold, or whose country is not allowed."""
    return {
        "source": [ORDERS_SOURCE],
        "detail-type": [ORDER_PLACED],
        "$or": [
            {"detail": {"payload": {"total": {"amount": [{"numeric": [">=", threshold]}]}}}},
            {"detail": {"payload": {"shipping_country": [{"anything-but": allowed_countries}]}}},
        ],
    }


def fast_pass_pattern(threshold: Any, allowed_countries: list[Any]) -> dict[str, Any]:
    """The exact complement: total below the threshold and country in the allowed list."""
    return {
        "source": [ORDERS_SOURCE],
        "detail-type": [ORDER_PLACED],
        "detail": {
            "payload": {
                "total": {"amount": [{"numeric": ["<", threshold]}]},
                "shipping_country": allowed_countries,
            }
        },
    }


@dataclass(frozen=True)
class FraudPolicy:
    """Concrete policy values: an amount threshold in minor units and the allowed countries."""

    threshold_minor_units: int
    allowed_countries: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.threshold_minor_units <= 0:
            raise ValueError(f"fraud threshold must be positive, got {self.threshold_minor_units}")
        if not self.allowed_countries:
            raise ValueError("fraud policy needs at least one allowed shipping country")
        for country in self.allowed_countries:
            if len(country) != 2 or not country.isalpha() or not country.isupper():
                raise ValueError(f"allowed country {country!r} is not an ISO 3166 alpha-2 code")

    def screening(self) -> dict[str, Any]:
        return screening_pattern(self.threshold_minor_units, list(self.allowed_countries))

    def fast_pass(self) -> dict[str, Any]:
        return fast_pass_pattern(self.threshold_minor_units, list(self.allowed_countries))


def cloudformation_pattern(
    pattern_of: Any, threshold_parameter: str, countries_parameter: str
) -> dict[str, Any]:
    """A pattern of `pattern_of` as an `Fn::Sub` JSON string fed by two template parameters.

    The threshold (a Number parameter) must stay a JSON number and the countries (a
    comma-separated String parameter) a JSON array of strings, which a plain `Ref` inside an
    object cannot do; both come in through the variable map as explicit `Ref`s. (A String, not a
    CommaDelimitedList: LocalStack's engine hands the latter to `Fn::Join` as one string.)
    """
    text = json.dumps(pattern_of(_THRESHOLD_MARK, [_COUNTRIES_MARK]), separators=(",", ":"))
    text = text.replace(f'"{_THRESHOLD_MARK}"', "${Threshold}")
    text = text.replace(f'"{_COUNTRIES_MARK}"', '"${AllowedCountriesJoined}"')
    countries = {"Fn::Split": [",", {"Ref": countries_parameter}]}
    variables = {
        "Threshold": {"Ref": threshold_parameter},
        "AllowedCountriesJoined": {"Fn::Join": ['","', countries]},
    }
    return {"Fn::Sub": [text, variables]}
