"""The fraud rules: which signals fire, the score, the flag."""

from __future__ import annotations

import pytest

from services.fraud.domain import Money, OrderLine, OrderPlaced, ScoringRules, assess, email_domain

RULES = ScoringRules()
WATCH = 129_900
MUG = 1_299


def order(
    *lines: tuple[str, int, int], country: str = "DE", email: str = "ada@example.com"
) -> OrderPlaced:
    order_lines = tuple(
        OrderLine(sku=sku, quantity=quantity, unit_price=Money(amount=price, currency="EUR"))
        for sku, quantity, price in lines
    )
    return OrderPlaced(
        order_id="ord-1",
        customer_email=email,
        shipping_country=country,
        lines=order_lines,
        total=Money(amount=sum(line[1] * line[2] for line in lines), currency="EUR"),
    )


def rules_of(assessment_reasons: tuple[str, ...]) -> list[str]:
    return [reason.split(":")[0] for reason in assessment_reasons]


def test_a_small_home_order_from_a_normal_address_scores_zero() -> None:
    assessment = assess(order(("MUG-001", 2, MUG)), RULES)
    assert (assessment.score, assessment.reasons, assessment.flagged) == (0, (), False)


def test_one_watch_is_a_high_total_and_passes() -> None:
    assessment = assess(order(("WATCH-006", 1, WATCH)), RULES)
    assert assessment.score == 20
    assert assessment.reasons == ("high_total: 129900 EUR >= 50000",)
    assert not assessment.flagged


def test_three_watches_are_a_very_high_total_in_bulk_and_are_flagged() -> None:
    assessment = assess(order(("WATCH-006", 3, WATCH)), RULES)
    assert assessment.score == 70
    assert rules_of(assessment.reasons) == ["very_high_total", "bulk_high_value_item"]
    assert "3 x WATCH-006" in assessment.reasons[1]
    assert assessment.flagged


def test_an_order_risky_by_amount_alone_can_pass_or_be_flagged() -> None:
    big = ("WATCH-006", 2, WATCH)
    passed = assess(order(big), RULES)
    flagged = assess(order(big, email="x@mailinator.com"), RULES)
    assert (passed.score, passed.flagged) == (40, False)
    assert (flagged.score, flagged.flagged) == (75, True)


def test_an_order_risky_by_country_alone_can_pass_or_be_flagged() -> None:
    abroad = assess(order(("MUG-001", 1, MUG), country="US"), RULES)
    abroad_disposable = assess(
        order(("MUG-001", 1, MUG), country="US", email="x@yopmail.com"), RULES
    )
    abroad_disposable_many_lines = assess(
        order(*((f"SKU-{n}", 1, MUG) for n in range(8)), country="US", email="x@yopmail.com"),
        RULES,
    )
    assert (abroad.score, abroad.flagged) == (25, False)
    assert (abroad_disposable.score, abroad_disposable.flagged) == (60, False)
    assert (abroad_disposable_many_lines.score, abroad_disposable_many_lines.flagged) == (70, True)
    assert rules_of(abroad_disposable_many_lines.reasons) == [
        "outside_home_market",
        "disposable_email",
        "many_lines",
    ]


def test_the_score_is_capped_at_100() -> None:
    everything = order(
        ("WATCH-006", 5, WATCH),
        *((f"SKU-{n}", 1, MUG) for n in range(7)),
        country="BR",
        email="x@guerrillamail.com",
    )
    assessment = assess(everything, RULES)
    assert assessment.score == 100
    assert len(assessment.reasons) == 5


def test_subdomains_of_disposable_domains_and_case_count() -> None:
    assert email_domain("Someone@Mail.Mailinator.COM.") == "mail.mailinator.com"
    assessment = assess(order(("MUG-001", 1, MUG), email="a@Mail.Mailinator.COM"), RULES)
    assert rules_of(assessment.reasons) == ["disposable_email"]
    lookalike = assess(order(("MUG-001", 1, MUG), email="a@notmailinator.com"), RULES)
    assert lookalike.score == 0


def test_bulk_needs_a_high_value_item() -> None:
    cheap_bulk = assess(order(("MUG-001", 50, MUG)), RULES)
    assert rules_of(cheap_bulk.reasons) == ["high_total"]


def test_the_threshold_is_a_setting() -> None:
    strict = ScoringRules(flag_threshold=20)
    assert assess(order(("WATCH-006", 1, WATCH)), strict).flagged


def test_the_same_order_always_gets_the_same_assessment() -> None:
    sample = order(("WATCH-006", 3, WATCH), country="US", email="a@trashmail.com")
    assert assess(sample, RULES) == assess(sample, RULES)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"flag_threshold": 0}, "flag threshold"),
        ({"flag_threshold": 101}, "flag threshold"),
        ({"high_total": 300_000}, "high_total"),
        ({"bulk_quantity": 1}, "bulk_quantity"),
    ],
)
def test_inconsistent_rules_are_refused(settings: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScoringRules(**settings)  # type: ignore[arg-type]
