"""The analytics dashboard function URL, fed payload-2.0 events, over what the handler counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from services.analytics.handler import handler as analytics_handler
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
from shared.function_url import ReaderSettings
from shared.tests.aws_events import envelope_record, function_url_event, sqs_event

pytestmark = pytest.mark.integration


def test_the_dashboard_serves_the_aggregates_over_a_function_url(
    database_url: str, engine: Engine, scenario: Scenario
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
    dashboard = dashboard_handler.build(ReaderSettings(database_url=database_url))

    response = dashboard(
        function_url_event("/api/analytics", query={"minutes": "5", "top": "100"}), CONTEXT
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
    database_url: str, query: dict[str, str], message: str
) -> None:
    dashboard = dashboard_handler.build(ReaderSettings(database_url=database_url))
    response = dashboard(function_url_event("/api/analytics", query=query), CONTEXT)
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": message}


def test_the_dashboard_answers_404_elsewhere(database_url: str) -> None:
    dashboard = dashboard_handler.build(ReaderSettings(database_url=database_url))
    assert dashboard(function_url_event("/api/other"), CONTEXT)["statusCode"] == 404
