"""The analytics dashboard function URL, fed payload-2.0 events, over what the handler counted:
for operators only (their credentials in LocalStack's Parameter Store)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from services.analytics.handler import handler as analytics_handler
from services.analytics.http import DashboardSettings
from services.analytics.http import handler as dashboard_handler
from services.analytics.tests.scenario import (
    CONTEXT,
    QUEUE,
    Scenario,
    cancelled,
    confirmed,
    placed,
    settings,
)
from shared.entry_point import LambdaHandler
from shared.function_url import CREDENTIAL_HEADER
from shared.operators import OperatorRegistry
from shared.tests.aws_events import envelope_record, function_url_event, sqs_event
from shared.tests.operators import parameter_store_operators

pytestmark = pytest.mark.integration

CACHE_SECONDS = 1


@pytest.fixture
def registry(localstack: Any, unique_name: str) -> Iterator[OperatorRegistry]:
    with parameter_store_operators(
        localstack.client("ssm"), f"/{unique_name}/operators"
    ) as registry:
        yield registry


@pytest.fixture
def operator(registry: OperatorRegistry) -> dict[str, str]:
    """The headers of an operator's request."""
    return {CREDENTIAL_HEADER: f"Bearer {registry.add('ada')}"}


@pytest.fixture
def dashboard(database_url: str, registry: OperatorRegistry) -> LambdaHandler:
    return dashboard_handler.build(
        DashboardSettings(
            database_url=database_url,
            operators_path=registry.path,
            operators_cache_seconds=CACHE_SECONDS,
        )
    )


def test_the_dashboard_serves_the_aggregates_over_a_function_url(
    database_url: str,
    engine: Engine,
    scenario: Scenario,
    dashboard: LambdaHandler,
    operator: dict[str, str],
) -> None:
    handler = analytics_handler.build(settings(database_url))
    first, second = placed(scenario), placed(scenario, quantity=1, price=4000)
    handler(
        sqs_event(
            *(
                envelope_record(envelope, QUEUE)
                for envelope in (
                    first,
                    second,
                    confirmed(first),
                    cancelled(second, scenario.reason),
                )
            )
        ),
        CONTEXT,
    )
    response = dashboard(
        function_url_event(
            "/api/analytics", query={"minutes": "5", "top": "100"}, headers=operator
        ),
        CONTEXT,
    )

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert body["window_minutes"] == 5
    assert len(body["series"]) == 5
    now_minute = datetime.now(UTC).replace(second=0, microsecond=0)
    assert body["series"][-1]["minute"] in {
        (now_minute - timedelta(minutes=lag)).isoformat().replace("+00:00", "Z") for lag in (0, 1)
    }
    in_window = [point for point in body["series"] if scenario.currency in point["placed_value"]]
    assert [point["placed_value"][scenario.currency] for point in in_window] == [7000]
    assert [point["revenue"][scenario.currency] for point in in_window] == [3000]
    assert body["totals"]["placed_value"][scenario.currency] == 7000
    assert body["totals"]["revenue"][scenario.currency] == 3000
    [sku] = [entry for entry in body["top_skus"] if entry["sku"] == scenario.sku]
    assert sku == {
        "sku": scenario.sku,
        "units": 3,
        "orders": 2,
        "revenue": {scenario.currency: 7000},
    }
    assert {"reason": scenario.reason, "count": 1} in body["cancellations_by_reason"]
    assert body["conversion"]["placed"] >= 2 and body["conversion"]["confirmed"] >= 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"minutes": "0"}, "minutes must be between 1 and 1440, got 0"),
        ({"minutes": "abc"}, "minutes must be a whole number, got 'abc'"),
        ({"top": "1000"}, "top must be between 1 and 100, got 1000"),
    ],
)
def test_the_dashboard_refuses_a_bad_query_naming_the_parameter(
    dashboard: LambdaHandler, operator: dict[str, str], query: dict[str, str], message: str
) -> None:
    response = dashboard(
        function_url_event("/api/analytics", query=query, headers=operator), CONTEXT
    )
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": message}


def test_the_dashboard_answers_404_elsewhere(dashboard: LambdaHandler) -> None:
    assert dashboard(function_url_event("/api/other"), CONTEXT)["statusCode"] == 404


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, "Bearer"),
        ({CREDENTIAL_HEADER: "Basic YWRhOnB3"}, "Bearer"),
        ({CREDENTIAL_HEADER: "Bearer not-an-operator-credential"}, 'Bearer error="invalid_token"'),
    ],
)
def test_the_dashboard_is_for_operators_only(
    dashboard: LambdaHandler, headers: dict[str, str], challenge: str
) -> None:
    """Never 403: the edge answers 403s with the single-page app."""
    response = dashboard(function_url_event("/api/analytics", headers=headers), CONTEXT)

    assert response["statusCode"] == 401
    assert set(json.loads(response["body"])) == {"error"}
    assert "totals" not in response["body"]
    assert response["headers"]["WWW-Authenticate"] == challenge


def test_the_dashboard_takes_no_credential_from_authorization(
    dashboard: LambdaHandler, registry: OperatorRegistry
) -> None:
    """``Authorization`` is CloudFront's signature of the origin request (origin access
    control): a credential there never reaches the reader through the edge."""
    headers = {"Authorization": f"Bearer {registry.add('grace')}"}
    response = dashboard(function_url_event("/api/analytics", headers=headers), CONTEXT)
    assert response["statusCode"] == 401


def test_a_removed_operator_is_refused_within_the_cache_lifetime(
    dashboard: LambdaHandler, registry: OperatorRegistry, operator: dict[str, str]
) -> None:
    request = function_url_event("/api/analytics", headers=operator)
    assert dashboard(request, CONTEXT)["statusCode"] == 200

    registry.remove("ada")
    removed_at = time.monotonic()
    while dashboard(request, CONTEXT)["statusCode"] == 200:
        assert time.monotonic() - removed_at < CACHE_SECONDS + 1, "still admitted"
        time.sleep(0.1)
    assert dashboard(request, CONTEXT)["statusCode"] == 401
