"""The packaged inventory Lambda on LocalStack behind its queue: SQS -> Lambda -> reply on the
bus (captured to a queue), and a malformed message to the DLQ."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.inventory.tests.shelf import Scenario
from shared.tests.deployment import Functions, package, queue_with_dlq
from shared.tests.polling import eventually
from shared.tests.queues import drain, queue_is_empty

pytestmark = pytest.mark.integration

HANDLER = "services.inventory.handler.handler"


@pytest.fixture(scope="module")
def inventory_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return package("inventory", tmp_path_factory.mktemp("inventory-build"))


def test_an_order_from_the_queue_is_reserved_once_and_answered_on_the_bus(
    localstack: Any,
    queues: Callable[..., str],
    unique_name: str,
    database_url: str,
    scenario: Scenario,
    inventory_zip: bytes,
) -> None:
    sqs = localstack.client("sqs")
    sku = scenario.product(stock=3)
    placed = scenario.placed({sku: 2})
    queue_url, queue_arn, dlq_url = queue_with_dlq(localstack, queues, unique_name)
    environment = {
        "DATABASE_URL": database_url,
        "EVENT_BUS_NAME": scenario.bus.bus_name,
        "POWERTOOLS_SERVICE_NAME": scenario.service,
    }
    with Functions(localstack) as functions:
        functions.create(unique_name, inventory_zip, HANDLER, environment)
        functions.consume(unique_name, queue_arn)

        for body in (placed.to_json(), "{not an envelope", placed.to_json()):
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)

        dead = eventually(lambda: drain(sqs, dlq_url), "the malformed message in the DLQ")
        eventually(lambda: queue_is_empty(sqs, queue_url), "the queue to be drained")
        replies = scenario.bus.replies(1, quiet_seconds=2)

    assert dead == ["{not an envelope"]
    assert [(reply["source"], reply["detail-type"]) for reply in replies] == [
        ("shop.inventory", "InventoryReserved")
    ]
    assert replies[0]["detail"]["causation_id"] == str(placed.event_id)
    assert scenario.available(sku) == 1
