"""The operations router mounted on a bare app: operator token, problems, a real redrive."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.orders.adapters.queue_operations import QueueOperations
from services.orders.api.operations import operations_router
from services.orders.settings import OperationsSettings

pytestmark = pytest.mark.integration

TOKEN = "operator-token-for-tests-0123456789"
AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}


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
def client(localstack: Any, stack: dict[str, str]) -> TestClient:
    ops = QueueOperations(
        localstack.client("sqs"),
        localstack.client("cloudwatch"),
        OperationsSettings(stack_name=stack["prefix"]),
    )
    app = FastAPI()
    app.include_router(operations_router(SecretStr(TOKEN), ops))
    return TestClient(app)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/ops/queues"), ("GET", "/api/ops/alarms"), ("POST", "/api/ops/queues/x/redrive")],
)
def test_every_route_needs_the_operator_token(client: TestClient, method: str, path: str) -> None:
    missing = client.request(method, path)
    wrong = client.request(method, path, headers={"Authorization": "Bearer not-the-token"})
    not_bearer = client.request(method, path, headers={"Authorization": f"Basic {TOKEN}"})

    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["title"] == "Operator token missing"
    assert wrong.status_code == 403
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json() | {"instance": path} == {
        "type": "/api/docs#problem-operator-token-wrong",
        "title": "Operator token wrong",
        "status": 403,
        "detail": "The operator token is not valid.",
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


def test_redrive_of_an_unknown_queue_is_a_404_problem(client: TestClient) -> None:
    response = client.post("/api/ops/queues/no-such-queue/redrive", headers=AUTHORIZED)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unknown queue"
    assert "no-such-queue" in response.json()["detail"]


def test_redrive_of_a_source_queue_is_a_409_problem(
    client: TestClient, stack: dict[str, str]
) -> None:
    response = client.post(f"/api/ops/queues/{stack['prefix']}-email/redrive", headers=AUTHORIZED)

    assert response.status_code == 409
    assert response.json()["title"] == "Redrive not possible"
    assert "not a dead-letter queue" in response.json()["detail"]


def test_redrive_moves_the_dead_letters_back(
    client: TestClient, stack: dict[str, str], localstack: Any
) -> None:
    sqs = localstack.client("sqs")
    sqs.send_message(QueueUrl=stack["dlq"], MessageBody="dead")

    response = client.post(
        f"/api/ops/queues/{stack['prefix']}-email-dlq/redrive", headers=AUTHORIZED
    )

    assert response.status_code == 202
    assert response.json()["destination"] == f"{stack['prefix']}-email"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pair = client.get("/api/ops/queues", headers=AUTHORIZED).json()["queues"][0]
        if pair["queue"]["messages"] == 1 and pair["dead_letter"]["messages"] == 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the dead letter did not return to its source queue within 20 s")
    assert pair["dead_letter"]["last_redrive"]["status"] in {"RUNNING", "COMPLETED"}
