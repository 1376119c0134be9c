import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import AwsSettings, ConfigurationError, load


class ExampleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_")

    port: int
    topic_arn: str


def test_errors_name_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_PORT", "eighty")
    monkeypatch.delenv("EXAMPLE_TOPIC_ARN", raising=False)
    with pytest.raises(ConfigurationError) as raised:
        load(ExampleSettings)
    assert "EXAMPLE_PORT" in str(raised.value)
    assert "EXAMPLE_TOPIC_ARN" in str(raised.value)


def test_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    settings = load(AwsSettings)
    assert settings.aws_endpoint_url == "http://127.0.0.1:4566"
    assert settings.aws_region == "eu-west-1"
