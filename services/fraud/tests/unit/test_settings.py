import pytest

from services.fraud.domain import DEFAULT_HOME_COUNTRIES, ScoringRules
from services.fraud.handler import FraudSettings
from shared.settings import ConfigurationError, load


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///fraud.db")
    monkeypatch.setenv("EVENT_BUS_NAME", "orders")
    return monkeypatch


def test_the_defaults_are_the_documented_rules(environment: pytest.MonkeyPatch) -> None:
    rules = load(FraudSettings).rules()
    assert rules == ScoringRules()
    assert rules.home_countries == DEFAULT_HOME_COUNTRIES


def test_rules_come_from_the_environment(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("FRAUD_FLAG_THRESHOLD", "50")
    environment.setenv("FRAUD_HOME_COUNTRIES", '["DE", "PL"]')
    rules = load(FraudSettings).rules()
    assert (rules.flag_threshold, rules.home_countries) == (50, ("DE", "PL"))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FRAUD_FLAG_THRESHOLD", "0", "FRAUD_FLAG_THRESHOLD"),
        ("FRAUD_HOME_COUNTRIES", '["germany"]', "FRAUD_HOME_COUNTRIES"),
        ("FRAUD_HIGH_TOTAL", "900000", "high_total"),
    ],
)
def test_a_bad_setting_is_refused_by_name(
    environment: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    environment.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        load(FraudSettings)


def test_the_database_and_bus_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    with pytest.raises(ConfigurationError, match=r"DATABASE_URL.*EVENT_BUS_NAME"):
        load(FraudSettings)
