"""Typed configuration, validated at start-up with errors that name the variable."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class ConfigurationError(RuntimeError):
    """The environment does not hold a valid configuration."""


class AwsSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    aws_max_attempts: int = 5

    def __hash__(self) -> int:
        return hash(tuple(self.model_dump().items()))


def problems_of(error: ValidationError) -> list[tuple[str, str]]:
    """Each problem of a validation error as (dotted location, message)."""
    return [(".".join(str(part) for part in item["loc"]), item["msg"]) for item in error.errors()]


def load(settings_class: type[SettingsT]) -> SettingsT:
    """Build settings from the environment or raise one error naming every bad variable."""
    try:
        return settings_class()
    except ValidationError as error:
        prefix = settings_class.model_config.get("env_prefix", "")
        problems = "; ".join(
            f"{(prefix + location).upper()}: {message}" for location, message in problems_of(error)
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from error
