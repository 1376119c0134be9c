"""The fraud handler invoked with EventBridge events as the `fraud-screening` rule sends them,
replying on a real bus (LocalStack) that a test rule copies into a queue."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from sqlalchemy import Engine, select

from services.fraud.adapters import fraud_verdicts
from services.fraud.handler import FraudSettings
from services.fraud.handler import handler as fraud_handler
from shared import aws
from shared.consumer import Clients
from shared.contracts import Money, OrderCancelled, OrderLine, OrderPlaced, envelope_for
from shared.envelope import Envelope, MalformedMessage
from shared.settings import AwsSettings
from shared.tests.aws_events import LambdaContextDouble, eventbridge_event
from shared.tests.bus_capture import BusCapture
from shared.tests.idempotency_records import forget_idempotency

pytestmark = pytest.mark.integration

CONTEXT = LambdaContextDouble("fraud")
WATCH = Money(amount=129_900, currency="EUR")


def settings(database_url: str, bus_name: str) -> FraudSettings:
    return FraudSettings(database_url=database_url, event_bus_name=bus_name, service_name="fraud")


def placed(order_id: str, quantity: int, email: str = "ada@example.com") -> Envelope:
    return envelope_for(
        OrderPlaced(
            order_id=order_id,
            customer_email=email,
            shipping_country="DE",
            lines=(OrderLine(sku="WATCH-006", quantity=quantity, unit_price=WATCH),),
            total=Money(amount=WATCH.amount * quantity, currency="EUR"),
        )
    )


def rule_event(envelope: Envelope) -> dict[str, Any]:
    return eventbridge_event(json.loads(envelope.to_json()), envelope.type)


def verdict_rows(engine: Engine, order_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(fraud_verdicts).where(fraud_verdicts.c.order_id == order_id)
            ).all()
        )


def test_a_risky_order_is_flagged_on_the_bus_once_even_when_delivered_twice(
    database_url: str, engine: Engine, fraud_bus: BusCapture, order_id: str
) -> None:
    handler = fraud_handler.build(settings(database_url, fraud_bus.bus_name))
    order_placed = placed(order_id, quantity=3)

    handler(rule_event(order_placed), CONTEXT)
    handler(rule_event(order_placed), CONTEXT)  # EventBridge retries carry a new event id

    events = fraud_bus.replies(1, quiet_seconds=1)
    assert [(event["source"], event["detail-type"]) for event in events] == [
        ("shop.fraud", "OrderFlaggedForReview")
    ]
    verdict = Envelope.model_validate(events[0]["detail"])
    assert verdict.causation_id == order_placed.event_id
    assert verdict.correlation_id == order_id
    assert verdict.payload["score"] == 70
    assert [reason.split(":")[0] for reason in verdict.payload["reasons"]] == [
        "very_high_total",
        "bulk_high_value_item",
    ]
    rows = verdict_rows(engine, order_id)
    assert [(row.verdict, row.score, row.published) for row in rows] == [
        ("OrderFlaggedForReview", 70, True)
    ]


def test_an_order_that_scores_low_passes_with_its_score(
    database_url: str, engine: Engine, fraud_bus: BusCapture, order_id: str
) -> None:
    fraud_handler.build(settings(database_url, fraud_bus.bus_name))(
        rule_event(placed(order_id, quantity=1)), CONTEXT
    )
    events = fraud_bus.replies(1, quiet_seconds=1)
    assert [event["detail-type"] for event in events] == ["FraudCheckPassed"]
    assert events[0]["detail"]["payload"] == {"order_id": order_id, "score": 20}


def test_a_redelivery_after_the_idempotency_record_expired_publishes_nothing_new(
    database_url: str, engine: Engine, fraud_bus: BusCapture, order_id: str
) -> None:
    handler = fraud_handler.build(settings(database_url, fraud_bus.bus_name))
    order_placed = placed(order_id, quantity=1, email="x@mailinator.com")
    handler(rule_event(order_placed), CONTEXT)
    with engine.begin() as connection:
        forget_idempotency(connection, "fraud", [order_placed.event_id])
    handler(rule_event(order_placed), CONTEXT)
    events = fraud_bus.replies(1, quiet_seconds=1)
    assert [event["detail"]["payload"]["score"] for event in events] == [55]
    assert len(verdict_rows(engine, order_id)) == 1


def test_a_verdict_that_could_not_be_published_is_published_unchanged_on_retry(
    database_url: str, engine: Engine, fraud_bus: BusCapture, order_id: str
) -> None:
    order_placed = placed(order_id, quantity=3)
    nowhere = AwsSettings(aws_endpoint_url="http://127.0.0.1:9")
    unreachable_bus = aws.client("events", nowhere, connect_timeout=1, max_attempts=1)
    broken = fraud_handler.build(
        settings(database_url, fraud_bus.bus_name), Clients(events=unreachable_bus)
    )
    with pytest.raises(EndpointConnectionError):
        broken(rule_event(order_placed), CONTEXT)
    [row] = verdict_rows(engine, order_id)
    assert (row.verdict, row.published) == ("OrderFlaggedForReview", False)

    fraud_handler.build(settings(database_url, fraud_bus.bus_name))(
        rule_event(order_placed), CONTEXT
    )

    events = fraud_bus.replies(1, quiet_seconds=1)
    assert len(events) == 1
    assert events[0]["detail"] == json.loads(row.verdict_event)
    assert verdict_rows(engine, order_id)[0].published


@pytest.mark.parametrize(
    "detail",
    [
        None,
        "not an object",
        {"type": "OrderPlaced", "correlation_id": "ord-x", "payload": {"order_id": "ord-x"}},
    ],
    ids=["no detail", "string detail", "invalid payload"],
)
def test_a_malformed_event_raises_and_records_nothing(
    database_url: str, engine: Engine, fraud_bus: BusCapture, detail: Any
) -> None:
    handler = fraud_handler.build(settings(database_url, fraud_bus.bus_name))
    with pytest.raises(MalformedMessage):
        handler(eventbridge_event(detail), CONTEXT)
    assert verdict_rows(engine, "ord-x") == []


def test_an_event_fraud_does_not_screen_raises(
    database_url: str, engine: Engine, fraud_bus: BusCapture, order_id: str
) -> None:
    other = envelope_for(OrderCancelled(order_id=order_id, reason="customer request"))
    with pytest.raises(MalformedMessage, match="not a message this consumer takes"):
        fraud_handler.build(settings(database_url, fraud_bus.bus_name))(rule_event(other), CONTEXT)
    assert verdict_rows(engine, order_id) == []
