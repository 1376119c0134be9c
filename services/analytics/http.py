"""The analytics dashboard read path: a Lambda function URL (payload format 2.0) behind
CloudFront at ``/api/analytics*``.

``GET /api/analytics?minutes=N&top=K`` answers the JSON of ``services.analytics.domain.dashboard``
(N minutes of series, default 60, at most 1440; K top SKUs, default 10, at most 100). Entry
point ``services.analytics.http.handler``; environment ``DATABASE_URL``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.analytics.adapters import SqlAnalytics, metadata
from services.analytics.domain import dashboard
from shared.consumer import LazyHandler, create_tables
from shared.database import create_engine_for
from shared.settings import load

MAX_WINDOW_MINUTES = 1440
MAX_TOP_SKUS = 100


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    database_url: str = Field(min_length=1)


class BadQuery(ValueError):
    pass


def _bounded(raw: str | None, name: str, default: int, maximum: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a whole number, got {raw!r}") from None
    if not 1 <= value <= maximum:
        raise BadQuery(f"{name} must be between 1 and {maximum}, got {value}")
    return value


def build(settings: DashboardSettings | None = None) -> Any:
    """The function URL handler wired to the analytics database."""
    settings = settings or load(DashboardSettings)
    engine = create_engine_for(settings.database_url)
    create_tables(metadata, engine)
    analytics = SqlAnalytics(engine)
    logger = Logger()
    app = LambdaFunctionUrlResolver()

    @app.get("/api/analytics")
    def get_dashboard() -> Response[str] | dict[str, Any]:
        query = app.current_event
        try:
            window = _bounded(
                query.get_query_string_value("minutes"), "minutes", 60, MAX_WINDOW_MINUTES
            )
            top = _bounded(query.get_query_string_value("top"), "top", 10, MAX_TOP_SKUS)
        except BadQuery as problem:
            return Response(
                status_code=400,
                content_type=content_types.APPLICATION_JSON,
                body=json.dumps({"error": str(problem)}),
            )
        now = datetime.now(UTC)
        since = now.replace(second=0, microsecond=0) - timedelta(minutes=window - 1)
        return dashboard(analytics.figures(since), now, window, top)

    @logger.inject_lambda_context
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return handle


handler = LazyHandler(build)
