"""The fraud Lambda: target of the ``fraud-screening`` rule (detail = an OrderPlaced envelope).

Entry point ``services.fraud.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME``, ``POWERTOOLS_*`` and optionally ``FRAUD_FLAG_THRESHOLD`` (70),
``FRAUD_HIGH_TOTAL`` (50000), ``FRAUD_VERY_HIGH_TOTAL`` (200000) and ``FRAUD_HOME_COUNTRIES``
(a JSON list, by default the allowed countries of the routing policy). Verdicts go on the bus as
``shop.fraud``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from services.fraud.adapters import SqlVerdicts, metadata
from services.fraud.domain import DEFAULT_HOME_COUNTRIES, ScoringRules
from services.fraud.service import FraudService
from shared.consumer import ConsumerLambda, ConsumerSettings, Wiring, eventbridge_handler

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class FraudSettings(ConsumerSettings):
    fraud_flag_threshold: int = Field(default=70, ge=1, le=100)
    fraud_high_total: int = Field(default=50_000, gt=0)
    fraud_very_high_total: int = Field(default=200_000, gt=0)
    fraud_home_countries: tuple[CountryCode, ...] = Field(
        default=DEFAULT_HOME_COUNTRIES, min_length=1
    )

    @model_validator(mode="after")
    def _consistent_rules(self) -> FraudSettings:
        self.rules()
        return self

    def rules(self) -> ScoringRules:
        return ScoringRules(
            flag_threshold=self.fraud_flag_threshold,
            high_total=self.fraud_high_total,
            very_high_total=self.fraud_very_high_total,
            home_countries=self.fraud_home_countries,
        )


def fraud(wiring: Wiring[FraudSettings]) -> FraudService:
    return FraudService(
        SqlVerdicts(wiring.engine), wiring.publisher, wiring.settings.rules(), wiring.telemetry
    )


handler = ConsumerLambda(
    settings=FraudSettings, tables=metadata, service=fraud, trigger=eventbridge_handler
)
