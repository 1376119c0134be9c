import pytest

from services.email.handler import EmailSettings
from shared.settings import ConfigurationError, load


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///email.db")
    monkeypatch.setenv("EVENT_BUS_NAME", "orders")
    return monkeypatch


def test_the_sender_comes_from_sender_email(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SENDER_EMAIL", "orders@example.com")
    assert load(EmailSettings).sender_email == "orders@example.com"


@pytest.mark.parametrize("value", [None, "not-an-address", "two@at@signs"])
def test_a_missing_or_bad_sender_is_refused_by_name(
    environment: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        environment.delenv("SENDER_EMAIL", raising=False)
    else:
        environment.setenv("SENDER_EMAIL", value)
    with pytest.raises(ConfigurationError, match="SENDER_EMAIL"):
        load(EmailSettings)
