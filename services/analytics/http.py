"""The analytics dashboard read path: a Lambda function URL (payload format 2.0) behind
CloudFront at ``/api/analytics*``, for operators only.

``GET /api/analytics?minutes=N&top=K`` answers the JSON of ``services.analytics.domain.dashboard``
(N minutes of series, default 60, at most 1440; K top SKUs, default 10, at most 100) to a
request with an operator's credential (``X-Shop-Authorization: Bearer <credential>``: behind
the distribution's origin access control, ``Authorization`` is CloudFront's signature; 401
without one or with one that is no operator's, 503 while the operators cannot be read). Entry point
``services.analytics.http.handler``; environment ``DATABASE_URL``, ``OPERATORS_PATH`` (and
``OPERATORS_CACHE_SECONDS``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from sqlalchemy import Engine

from services.analytics.adapters import SqlAggregates, metadata
from services.analytics.service import current_dashboard
from shared import operators as operator_directory
from shared.credentials import bearer_credential
from shared.function_url import CREDENTIAL_HEADER, FunctionUrlLambda, ReaderSettings
from shared.operators import DirectoryUnavailable, Operators, OperatorSettings

MAX_WINDOW_MINUTES = 1440
MAX_TOP_SKUS = 100


class DashboardSettings(ReaderSettings, OperatorSettings):
    """The reader's database and where its operators are."""


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


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": message}),
        headers=headers,
    )


def _refusal(operators: Operators, authorization: str | None) -> Response[str] | None:
    """None for an operator's request, else the answer that refuses it."""
    credential = bearer_credential(authorization)
    if credential is None:
        return _error(
            401,
            f"send an operator's credential as `{CREDENTIAL_HEADER}: Bearer <credential>`",
            {"WWW-Authenticate": "Bearer"},
        )
    try:
        operator = operators.identify(credential)
    except DirectoryUnavailable:
        return _error(503, "operators cannot be identified right now", {"Retry-After": "5"})
    if operator is None:
        return _error(
            401,
            "the credential is not an operator's",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return None


def routes(settings: DashboardSettings, engine: Engine) -> LambdaFunctionUrlResolver:
    aggregates = SqlAggregates(engine)
    operators = operator_directory.operators(settings)
    app = LambdaFunctionUrlResolver()

    @app.get("/api/analytics")
    def get_dashboard() -> Response[str] | dict[str, Any]:
        query = app.current_event
        refusal = _refusal(operators, query.headers.get(CREDENTIAL_HEADER.lower()))
        if refusal is not None:
            return refusal
        try:
            window = _bounded(
                query.get_query_string_value("minutes"), "minutes", 60, MAX_WINDOW_MINUTES
            )
            top = _bounded(query.get_query_string_value("top"), "top", 10, MAX_TOP_SKUS)
        except BadQuery as problem:
            return _error(400, str(problem))
        return current_dashboard(aggregates, datetime.now(UTC), window, top)

    return app


handler = FunctionUrlLambda(settings=DashboardSettings, tables=metadata, routes=routes)
