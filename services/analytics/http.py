"""The analytics dashboard read path: a Lambda function URL (payload format 2.0) behind
CloudFront at ``/api/analytics*``.

``GET /api/analytics?minutes=N&top=K`` answers the JSON of ``services.analytics.domain.dashboard``
(N minutes of series, default 60, at most 1440; K top SKUs, default 10, at most 100). Entry
point ``services.analytics.http.handler``; environment ``DATABASE_URL``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from sqlalchemy import Engine

from services.analytics.adapters import SqlAggregates, metadata
from services.analytics.service import current_dashboard
from shared.function_url import FunctionUrlLambda, ReaderSettings

MAX_WINDOW_MINUTES = 1440
MAX_TOP_SKUS = 100


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


def routes(settings: ReaderSettings, engine: Engine) -> LambdaFunctionUrlResolver:
    aggregates = SqlAggregates(engine)
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
        return current_dashboard(aggregates, datetime.now(UTC), window, top)

    return app


handler = FunctionUrlLambda(settings=ReaderSettings, tables=metadata, routes=routes)
