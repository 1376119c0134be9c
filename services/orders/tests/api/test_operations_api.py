"""The operations router mounted on a bare app: operator credentials, problems, a real redrive,
and the log of who redrove what."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.orders import bootstrap
from services.orders.adapters.queue_operations import QueueOperations
from services.orders.api.operations import operations_router
from services.orders.settings import OperationsSettings, RateLimitSettings
from shared.tests.operators import operators_with
from shared.tests.polling import eventually
from shared.tests.queues import arn_of

pytestmark = pytest.mark.integration

OPERATORS, CREDENTIALS = operators_with("alice", "bob")
AUTHORIZED = {"Authorization": f"Bearer {CREDENTIALS['alice']}"}


@pytest.fixture
def stack(localstack: Any, queues: Callable[..., str], unique_name: str) -> dict[str, str]:
    sqs = localstack.client("sqs")
    dlq = queues(f"{unique_name}-email-dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = queues(
        f"{unique_name}-email",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    )
    return {"prefix": unique_name, "source": source, "dlq": dlq}


@pytest.fixture
def orders(database_url: str) -> Iterator[bootstrap.Orders]:
    orders = bootstrap.orders(database_url)
    yield orders
    orders.close()


@pytest.fixture
def client(localstack: Any, stack: dict[str, str], orders: bootstrap.Orders) -> TestClient:
    ops = QueueOperations(
        localstack.client("sqs"),
        localstack.client("cloudwatch"),
        OperationsSettings(stack_name=stack["prefix"]),
    )
    app = FastAPI()
    limits = bootstrap.rate_limits(RateLimitSettings())
    app.include_router(operations_router(OPERATORS, limits, ops, orders.operations_log))
    return TestClient(app)


def logged(client: TestClient, target_prefix: str) -> list[dict[str, Any]]:
    """The log entries about the queues of this test (the database may be shared)."""
    entries = client.get("/api/ops/log", params={"limit": 200}, headers=AUTHORIZED).json()
    return [e for e in entries["entries"] if e["target"].startswith(target_prefix)]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/ops/queues"),
        ("GET", "/api/ops/alarms"),
        ("GET", "/api/ops/alarms/recent"),
        ("POST", "/api/ops/queues/x/redrive"),
        ("GET", "/api/ops/log"),
    ],
)
def test_every_route_needs_an_operator_credential(
    client: TestClient, method: str, path: str
) -> None:
    missing = client.request(method, path)
    wrong = client.request(method, path, headers={"Authorization": "Bearer not-a-credential"})
    not_bearer = client.request(
        method, path, headers={"Authorization": f"Basic {CREDENTIALS['alice']}"}
    )

    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["title"] == "Operator credential missing"
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json() | {"instance": path} == {
        "type": "/api/docs#problem-operator-credential-wrong",
        "title": "Operator credential wrong",
        "status": 401,
        "detail": "The credential is not an operator's (or that operator was removed).",
        "instance": path,
        "errors": [],
    }
    assert not_bearer.status_code == 401


def test_lists_queue_pairs_with_depths(client: TestClient, stack: dict[str, str]) -> None:
    response = client.get("/api/ops/queues", headers=AUTHORIZED)

    assert response.status_code == 200
    assert response.json() == {
        "queues": [
            {
                "queue": {
                    "name": f"{stack['prefix']}-email",
                    "messages": 0,
                    "in_flight": 0,
                    "last_redrive": None,
                },
                "dead_letter": {
                    "name": f"{stack['prefix']}-email-dlq",
                    "messages": 0,
                    "in_flight": 0,
                    "last_redrive": None,
                },
                "redrivable": True,
            }
        ]
    }


def test_lists_alarms(client: TestClient) -> None:
    response = client.get("/api/ops/alarms", headers=AUTHORIZED)

    assert response.status_code == 200
    assert response.json() == {"alarms": []}


def test_lists_the_recent_alarm_notifications_newest_first(
    client: TestClient, stack: dict[str, str], localstack: Any, queues: Callable[..., str]
) -> None:
    sqs, sns, cloudwatch = (localstack.client(s) for s in ("sqs", "sns", "cloudwatch"))
    alarms = queues(f"{stack['prefix']}-alarms")
    topic = sns.create_topic(Name=f"{stack['prefix']}-ops-alerts")["TopicArn"]
    alarm = f"{stack['prefix']}-EmailDeadLetterQueue-not-empty"
    try:
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn_of(sqs, alarms),
            Attributes={"RawMessageDelivery": "true"},
        )
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[topic],
        )
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="poison")

        def notifications() -> list[dict[str, Any]]:
            response = client.get("/api/ops/alarms/recent?limit=5", headers=AUTHORIZED)
            assert response.status_code == 200
            found: list[dict[str, Any]] = response.json()["notifications"]
            return found

        [notification] = eventually(notifications, "the alarm's notification", seconds=20)
        assert notification | {"changed_at": None} == {
            "name": alarm,
            "state": "ALARM",
            "previous_state": "INSUFFICIENT_DATA",
            "reason": "poison",
            "changed_at": None,
        }
        assert datetime.fromisoformat(notification["changed_at"]).tzinfo is not None
        assert notifications() == [notification]  # still there for the next reader
    finally:
        cloudwatch.delete_alarms(AlarmNames=[alarm])
        sns.delete_topic(TopicArn=topic)


def test_recent_alarm_notifications_take_a_bounded_limit(client: TestClient) -> None:
    response = client.get("/api/ops/alarms/recent?limit=101", headers=AUTHORIZED)
    assert response.status_code == 422


def test_redrive_of_an_unknown_queue_is_a_404_problem(
    client: TestClient, stack: dict[str, str]
) -> None:
    queue = f"{stack['prefix']}-no-such-queue"
    response = client.post(f"/api/ops/queues/{queue}/redrive", headers=AUTHORIZED)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unknown queue"
    assert queue in response.json()["detail"]
    [entry] = logged(client, queue)
    assert (entry["operator"], entry["action"]) == ("alice", "redrive")
    assert entry["outcome"] == response.json()["detail"]


def test_redrive_of_a_source_queue_is_a_409_problem(
    client: TestClient, stack: dict[str, str]
) -> None:
    response = client.post(f"/api/ops/queues/{stack['prefix']}-email/redrive", headers=AUTHORIZED)

    assert response.status_code == 409
    assert response.json()["title"] == "Redrive not possible"
    assert "not a dead-letter queue" in response.json()["detail"]
    [entry] = logged(client, stack["prefix"])
    assert (entry["operator"], entry["target"]) == ("alice", f"{stack['prefix']}-email")
    assert "not a dead-letter queue" in entry["outcome"]


def test_redrive_moves_the_dead_letters_back_and_is_logged_with_the_operator(
    client: TestClient, stack: dict[str, str], localstack: Any
) -> None:
    sqs = localstack.client("sqs")
    sqs.send_message(QueueUrl=stack["dlq"], MessageBody="dead")
    before = time.time()

    response = client.post(
        f"/api/ops/queues/{stack['prefix']}-email-dlq/redrive",
        headers={"Authorization": f"Bearer {CREDENTIALS['bob']}"},
    )

    assert response.status_code == 202
    assert response.json()["destination"] == f"{stack['prefix']}-email"
    [entry] = logged(client, stack["prefix"])
    assert (entry["operator"], entry["action"]) == ("bob", "redrive")
    assert entry["target"] == f"{stack['prefix']}-email-dlq"
    assert entry["outcome"].startswith(f"started: task {response.json()['task_handle']}")
    assert datetime.fromisoformat(entry["recorded_at"]).timestamp() >= before - 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pair = client.get("/api/ops/queues", headers=AUTHORIZED).json()["queues"][0]
        if pair["queue"]["messages"] == 1 and pair["dead_letter"]["messages"] == 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the dead letter did not return to its source queue within 20 s")
    assert pair["dead_letter"]["last_redrive"]["status"] in {"RUNNING", "COMPLETED"}
