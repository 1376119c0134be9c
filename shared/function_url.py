"""The reader chassis: a Lambda function URL (payload 2.0) that serves a service's own data.

A reader is a ``routes(settings, engine)`` function that returns a powertools
``LambdaFunctionUrlResolver``, and one ``FunctionUrlLambda`` in the service's ``http.py`` that
wires it: settings from the environment, the service's tables, a logger with the Lambda context.

A reader's URL takes only requests CloudFront signed for it (origin access control), and the
signature is the request's ``Authorization``, replacing the viewer's; so a reader takes its
caller's credential from ``CREDENTIAL_HEADER`` (``X-Shop-Authorization: Bearer <credential>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, MetaData

from shared.database import create_engine_for, create_tables
from shared.entry_point import EntryPoint, LambdaEvent, LambdaHandler
from shared.settings import load

CREDENTIAL_HEADER = "X-Shop-Authorization"


class ReaderSettings(BaseSettings):
    """What every reader Lambda reads from its environment (subclass to add a service's own)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(min_length=1)
    service_name: str = Field(
        default="service_undefined", min_length=1, validation_alias="POWERTOOLS_SERVICE_NAME"
    )


ReaderSettingsT = TypeVar("ReaderSettingsT", bound=ReaderSettings)


class FunctionUrlLambda(EntryPoint, Generic[ReaderSettingsT]):
    """A reader's ``handler``: its settings, tables and routes."""

    def __init__(
        self,
        *,
        settings: type[ReaderSettingsT],
        tables: MetaData,
        routes: Callable[[ReaderSettingsT, Engine], LambdaFunctionUrlResolver],
    ) -> None:
        self.settings = settings
        self.tables = tables
        self.routes = routes

    def build(self, settings: ReaderSettingsT | None = None) -> LambdaHandler:
        """The composition root: the database and its tables, the routes."""
        settings = settings or load(self.settings)
        engine = create_engine_for(settings.database_url)
        create_tables(self.tables, engine)
        app = self.routes(settings, engine)
        logger = Logger(service=settings.service_name)

        @logger.inject_lambda_context
        def handle(event: LambdaEvent, context: Any) -> dict[str, Any]:
            logger.debug("request", extra={"path": event.get("rawPath")})
            return app.resolve(event, context)

        return handle
