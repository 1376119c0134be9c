"""Configuration of the orders service (environment variables prefixed ``ORDERS_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrdersSettings(BaseSettings):
    """Where the orders service keeps its events and where it publishes them.

    Read with ``shared.settings.load(OrdersSettings)``; the AWS endpoint and region are
    ``shared.settings.AwsSettings`` (unprefixed ``AWS_*``). ``make deploy`` prints the values
    that come from the stack outputs.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_")

    database_url: str = Field(min_length=1)
    topic_arn: str = Field(min_length=1)
    payments_queue_url: str = Field(min_length=1)
    event_bus_name: str = Field(min_length=1)
    updates_queue_url: str = Field(min_length=1)
    operator_token: SecretStr = Field(min_length=16)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
