"""The inventory Lambda fed SQS events as AWS sends them, replying on a LocalStack bus."""

from __future__ import annotations

import importlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.inventory import handler as handler_module
from services.inventory.domain import ReservationStatus
from services.inventory.handler import handler as inventory_handler
from services.inventory.tests.shelf import Scenario
from shared.consumer import Clients
from shared.contracts import OrderCancelled, envelope_for
from shared.entry_point import LambdaHandler
from shared.settings import ConfigurationError
from shared.tests.aws_events import (
    LambdaContextDouble,
    envelope_record,
    failed_ids,
    sqs_event,
    sqs_record,
)

pytestmark = pytest.mark.integration

QUEUE = "inventory"


@pytest.fixture
def handler(database_url: str, scenario: Scenario) -> LambdaHandler:
    return inventory_handler.build(
        scenario.settings(database_url), Clients(events=scenario.bus.events)
    )


def test_a_batch_reserves_rejects_and_reports_only_the_malformed_record(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    mug, hat = (
        scenario.product(stock=5, name="MUG"),
        scenario.product(stock=1, name="HAT"),
    )
    fits = scenario.placed({mug: 2}, number=1)
    too_many = scenario.placed({mug: 1, hat: 2}, number=2)
    event = sqs_event(
        envelope_record(fits, QUEUE),
        sqs_record('{"type": "OrderPlaced", "payload": {}}', QUEUE, "OrderPlaced"),
        envelope_record(too_many, QUEUE),
    )

    response = handler(event, LambdaContextDouble())

    assert failed_ids(response) == [event["Records"][1]["messageId"]]
    assert (scenario.available(mug), scenario.available(hat)) == (3, 1)
    replies = {event["detail"]["causation_id"]: event for event in scenario.bus.replies(2)}
    reserved, rejected = replies[str(fits.event_id)], replies[str(too_many.event_id)]
    assert (reserved["source"], reserved["detail-type"]) == ("shop.inventory", "InventoryReserved")
    assert reserved["detail"]["correlation_id"] == fits.correlation_id
    assert rejected["detail-type"] == "InventoryRejected"
    assert rejected["detail"]["payload"]["short_skus"] == [hat]


def test_the_same_message_twice_reserves_and_replies_once(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    sku = scenario.product(stock=5)
    placed = scenario.placed({sku: 2})

    first = handler(sqs_event(envelope_record(placed, QUEUE)), LambdaContextDouble())
    again = handler(
        sqs_event(envelope_record(placed, QUEUE), envelope_record(placed, QUEUE)),
        LambdaContextDouble(),
    )

    assert failed_ids(first) == failed_ids(again) == []
    assert scenario.available(sku) == 3
    assert [event["detail-type"] for event in scenario.bus.replies(1, quiet_seconds=2)] == [
        "InventoryReserved"
    ]


def test_a_redelivered_order_with_a_new_event_id_reserves_nothing_more(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    sku = scenario.product(stock=5)
    placed = scenario.placed({sku: 2})
    republished = placed.model_copy(update={"event_id": uuid.uuid4()})

    handler(sqs_event(envelope_record(placed, QUEUE)), None)
    handler(sqs_event(envelope_record(republished, QUEUE)), None)

    assert scenario.available(sku) == 3
    assert [event["detail-type"] for event in scenario.bus.replies(2)] == ["InventoryReserved"] * 2


def test_cancellation_releases_the_reservation_once_without_a_reply(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    sku = scenario.product(stock=5)
    placed = scenario.placed({sku: 4})
    handler(sqs_event(envelope_record(placed, QUEUE)), None)
    cancelled = envelope_for(OrderCancelled(order_id=placed.correlation_id, reason="declined"))
    cancelled_again = cancelled.model_copy(update={"event_id": uuid.uuid4()})

    response = handler(
        sqs_event(
            envelope_record(cancelled, QUEUE),
            envelope_record(cancelled_again, QUEUE),
            envelope_record(cancelled, QUEUE),
        ),
        None,
    )

    assert failed_ids(response) == []
    assert scenario.available(sku) == 5
    reservation = scenario.stock.reservation(placed.correlation_id)
    assert reservation is not None and reservation.status is ReservationStatus.RELEASED
    assert [event["detail-type"] for event in scenario.bus.replies(1, quiet_seconds=2)] == [
        "InventoryReserved"
    ]


def test_the_module_handler_reads_its_configuration_at_cold_start(
    scenario: Scenario, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("EVENT_BUS_NAME", scenario.bus.bus_name)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", scenario.service)
    module = importlib.reload(handler_module)
    sku = scenario.product(stock=1)
    placed = scenario.placed({sku: 1})

    assert (
        failed_ids(module.handler(sqs_event(envelope_record(placed, QUEUE)), LambdaContextDouble()))
        == []
    )
    assert scenario.bus.replies(1)[0]["detail"]["causation_id"] == str(placed.event_id)


def test_missing_configuration_fails_at_the_first_invocation_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("EVENT_BUS_NAME", "orders")
    module = importlib.reload(handler_module)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        module.handler(sqs_event(sqs_record("{}", QUEUE, "OrderPlaced")), None)


def test_two_lambdas_racing_for_the_last_unit_reserve_it_once(
    scenario: Scenario, database_url: str
) -> None:
    settings = scenario.settings(database_url)
    lambdas = [
        inventory_handler.build(settings, Clients(events=scenario.bus.events)) for _ in range(2)
    ]
    sku = scenario.product(stock=1)
    orders = [scenario.placed({sku: 1}, number=n) for n in range(2)]
    start = threading.Barrier(2)

    def invoke(index: int) -> dict[str, Any]:
        start.wait()
        return lambdas[index](
            sqs_event(envelope_record(orders[index], QUEUE)), LambdaContextDouble()
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(invoke, range(2)))

    assert [failed_ids(response) for response in responses] == [[], []]
    assert scenario.available(sku) == 0
    assert sorted(event["detail-type"] for event in scenario.bus.replies(2)) == [
        "InventoryRejected",
        "InventoryReserved",
    ]
