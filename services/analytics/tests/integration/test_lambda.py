"""The packaged analytics Lambdas on LocalStack: the queue consumer behind its SQS queue and
the dashboard behind a real function URL, reading its operators from Parameter Store."""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from services.analytics.tests.scenario import Scenario
from shared.contracts import Money, OrderConfirmed, OrderLine, OrderPlaced, envelope_for
from shared.function_url import CREDENTIAL_HEADER
from shared.tests.deployment import Functions, package, queue_with_dlq
from shared.tests.operators import parameter_store_operators
from shared.tests.polling import eventually
from shared.tests.queues import queue_is_empty

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def analytics_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return package("analytics", tmp_path_factory.mktemp("analytics-build"))


def get(url: str, query: str, credential: str | None) -> tuple[int, dict[str, Any]]:
    """GET a LocalStack function URL through 127.0.0.1 with the URL's host in ``Host``, as the
    operator of ``credential``."""
    parsed = urllib.parse.urlsplit(url)
    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    headers = {"Host": parsed.netloc}
    if credential is not None:
        headers[CREDENTIAL_HEADER] = f"Bearer {credential}"
    request = urllib.request.Request(f"{endpoint}/api/analytics?{query}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310  # emulator URL
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_events_from_the_queue_are_counted_once_and_served_by_the_function_url(
    localstack: Any,
    queues: Callable[..., str],
    unique_name: str,
    database_url: str,
    engine: Engine,
    scenario: Scenario,
    analytics_zip: bytes,
) -> None:
    sqs = localstack.client("sqs")
    currency, sku = scenario.currency, scenario.sku
    queue_url, queue_arn, dlq_url = queue_with_dlq(localstack, queues, unique_name)
    price = Money(amount=2500, currency=currency)
    placed = envelope_for(
        OrderPlaced(
            order_id=scenario.order_id(),
            customer_email="ada@example.com",
            shipping_country="BE",
            lines=(OrderLine(sku=sku, quantity=4, unit_price=price),),
            total=Money(amount=10_000, currency=currency),
        )
    )
    confirmed = placed.caused(
        "OrderConfirmed",
        OrderConfirmed(
            order_id=placed.correlation_id, total=Money(amount=10_000, currency=currency)
        ).model_dump(mode="json"),
    )
    operators_path = f"/{unique_name}/operators"
    environment = {
        "DATABASE_URL": database_url,
        "EVENT_BUS_NAME": "unused-by-analytics",
        "POWERTOOLS_SERVICE_NAME": "analytics",
        "OPERATORS_PATH": operators_path,
    }
    with (
        Functions(localstack) as functions,
        parameter_store_operators(localstack.client("ssm"), operators_path) as registry,
    ):
        credential = registry.add("ada")
        functions.create(
            unique_name, analytics_zip, "services.analytics.handler.handler", environment
        )
        functions.consume(unique_name, queue_arn)
        dashboard = f"{unique_name}-dashboard"
        functions.create(dashboard, analytics_zip, "services.analytics.http.handler", environment)
        url = functions.client.create_function_url_config(FunctionName=dashboard, AuthType="NONE")[
            "FunctionUrl"
        ]

        for envelope in (placed, placed, confirmed):
            sqs.send_message(QueueUrl=queue_url, MessageBody=envelope.to_json())

        def counted() -> dict[str, Any] | None:
            status, body = get(url, "minutes=10&top=100", credential)
            assert status == 200
            revenue = body["totals"]["revenue"].get(currency)
            return body if revenue else None

        eventually(counted, "the confirmed revenue on the dashboard")
        eventually(lambda: queue_is_empty(sqs, queue_url), "every message to be handled")
        body = eventually(counted, "the dashboard")
        assert body["totals"]["placed_value"][currency] == 10_000
        assert body["totals"]["revenue"][currency] == 10_000
        [top] = [entry for entry in body["top_skus"] if entry["sku"] == sku]
        assert top == {"sku": sku, "units": 4, "orders": 1, "revenue": {currency: 10_000}}
        assert len(body["series"]) == 10
        assert sum(point["placed_value"].get(currency, 0) for point in body["series"]) == 10_000

        status, refusal = get(url, "minutes=100000", credential)
        assert (status, refusal) == (
            400,
            {"error": "minutes must be between 1 and 1440, got 100000"},
        )
        assert get(url, "minutes=10", None)[0] == 401
        assert get(url, "minutes=10", "not-an-operator-credential")[0] == 401
        assert sqs.receive_message(QueueUrl=dlq_url).get("Messages") is None
