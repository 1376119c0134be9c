"""The packaged fraud Lambda on LocalStack behind the `fraud-screening` rule of the routing
policy: OrderPlaced on the bus -> rule -> Lambda -> verdict on the bus (captured to a queue)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from services.fraud.public import FraudPolicy
from shared.contracts import ORDERS_SOURCE, Money, OrderLine, OrderPlaced, envelope_for
from shared.envelope import Envelope
from shared.tests.bus_capture import BusCapture
from shared.tests.deployment import Functions, package
from shared.tests.polling import eventually
from shared.tests.queues import arn_of, drain

pytestmark = pytest.mark.integration

POLICY = FraudPolicy(50_000, ("AT", "BE", "DE", "ES", "FR", "IT", "NL"))
WATCH = Money(amount=129_900, currency="EUR")
MUG = Money(amount=1_299, currency="EUR")


@pytest.fixture(scope="module")
def fraud_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return package("fraud", tmp_path_factory.mktemp("fraud-build"))


def order(*lines: tuple[str, int, Money], country: str) -> Envelope:
    order_lines = tuple(
        OrderLine(sku=sku, quantity=quantity, unit_price=price) for sku, quantity, price in lines
    )
    total = sum(line.quantity * line.unit_price.amount for line in order_lines)
    return envelope_for(
        OrderPlaced(
            order_id=f"ord-{uuid.uuid4().hex}",
            customer_email="ada@example.com",
            shipping_country=country,
            lines=order_lines,
            total=Money(amount=total, currency="EUR"),
        )
    )


def verdict(body: str) -> Envelope:
    """The envelope of a bus event copied to the capture queue."""
    return Envelope.model_validate(json.loads(body)["detail"])


def publish(events: Any, bus_name: str, detail: str) -> None:
    """OrderPlaced on the bus as the outbox relay puts it there."""
    result = events.put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": ORDERS_SOURCE,
                "DetailType": "OrderPlaced",
                "Detail": detail,
            }
        ]
    )
    assert result["FailedEntryCount"] == 0


def test_screened_orders_get_one_verdict_each_and_others_none(
    localstack: Any,
    queues: Callable[..., str],
    unique_name: str,
    database_url: str,
    engine: Engine,
    orders: list[str],
    fraud_bus: BusCapture,
    fraud_zip: bytes,
) -> None:
    events, sqs = localstack.client("events"), localstack.client("sqs")
    bus, verdicts_url = fraud_bus.bus_name, fraud_bus.queue_url
    dlq_url = queues(f"{unique_name}-fraud-dlq")
    with Functions(localstack) as functions:
        function_arn = functions.create(
            unique_name,
            fraud_zip,
            "services.fraud.handler.handler",
            {
                "DATABASE_URL": database_url,
                "EVENT_BUS_NAME": bus,
                "POWERTOOLS_SERVICE_NAME": "fraud",
            },
            DeadLetterConfig={"TargetArn": arn_of(sqs, dlq_url)},
        )
        functions.client.put_function_event_invoke_config(
            FunctionName=unique_name, MaximumRetryAttempts=0
        )
        events.put_rule(
            Name=f"{unique_name}-fraud-screening",
            EventBusName=bus,
            EventPattern=json.dumps(POLICY.screening()),
        )
        events.put_targets(
            Rule=f"{unique_name}-fraud-screening",
            EventBusName=bus,
            Targets=[{"Id": "fraud", "Arn": function_arn}],
        )
        three_watches = order(("WATCH-006", 3, WATCH), country="DE")  # amount: screened, flagged
        mug_abroad = order(("MUG-001", 1, MUG), country="US")  # country: screened, passes
        mug_at_home = order(("MUG-001", 1, MUG), country="DE")  # not screened at all
        orders.extend(e.correlation_id for e in (three_watches, mug_abroad, mug_at_home))

        for envelope in (three_watches, mug_abroad, mug_at_home):
            publish(events, bus, envelope.to_json())
        malformed = json.loads(three_watches.to_json())
        malformed["event_id"] = str(uuid.uuid4())
        del malformed["payload"]["lines"]
        publish(events, bus, json.dumps(malformed))

        dead = eventually(lambda: drain(sqs, dlq_url), "the malformed event in the fraud DLQ")
        received: list[Envelope] = []

        def verdicts_arrived() -> bool:
            received.extend(verdict(body) for body in drain(sqs, verdicts_url))
            return len(received) >= 2

        eventually(verdicts_arrived, "two verdicts on the bus")
        publish(events, bus, three_watches.to_json())  # redelivered once the first is done

        def duplicate_ignored() -> bool:
            """The consumer's EMF metric of a recognised redelivery, in the function's log."""
            log = functions.logs.filter_log_events(logGroupName=f"/aws/lambda/{unique_name}")
            return any('"DuplicatesIgnored"' in event["message"] for event in log["events"])

        eventually(duplicate_ignored, "the redelivery to be recognised")
        late = sqs.receive_message(QueueUrl=verdicts_url, WaitTimeSeconds=2).get("Messages", [])
        received.extend(verdict(message["Body"]) for message in late)

    verdicts = {verdict.correlation_id: verdict for verdict in received}
    assert len(received) == 2 and set(verdicts) == {
        three_watches.correlation_id,
        mug_abroad.correlation_id,
    }
    flagged, passed = verdicts[three_watches.correlation_id], verdicts[mug_abroad.correlation_id]
    assert (flagged.type, flagged.payload["score"]) == ("OrderFlaggedForReview", 70)
    assert flagged.causation_id == three_watches.event_id
    assert (passed.type, passed.payload["score"]) == ("FraudCheckPassed", 25)
    assert [json.loads(body)["detail"]["event_id"] for body in dead] == [malformed["event_id"]]
