"""The payments Lambda fed FIFO batches as AWS sends them, replying on a LocalStack bus."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from services.payments.adapters import (
    SqlLedger,
    metadata,
    payments_authorizations,
    payments_operations,
)
from services.payments.domain import Operation, Result, authorization_id_for
from services.payments.handler import handler as payments_handler
from shared.consumer import Clients, ConsumerSettings
from shared.contracts import (
    AuthorizePayment,
    CapturePayment,
    Money,
    VoidPayment,
    envelope_for,
)
from shared.entry_point import LambdaHandler
from shared.envelope import Envelope
from shared.tests.aws_events import (
    LambdaContextDouble,
    as_lambda_record,
    failed_ids,
    fifo_record,
    sqs_event,
)
from shared.tests.bus_capture import BusCapture
from shared.tests.databases import service_engine
from shared.tests.idempotency_records import forget_service

pytestmark = pytest.mark.integration

TOTAL = Money(amount=2599, currency="EUR")


class Scenario:
    """Orders no other test uses, their commands, and the replies seen on the bus."""

    def __init__(self, ledger: SqlLedger, bus: BusCapture) -> None:
        self.ledger = ledger
        self.bus = bus
        self.prefix = f"ord-{uuid.uuid4().hex[:10]}"
        self.service = f"payments-{self.prefix}"

    def order(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def authorize(self, order_id: str, token: str = "tok_approve") -> Envelope:
        return envelope_for(
            AuthorizePayment(
                order_id=order_id,
                amount=TOTAL,
                customer_email="ada@example.com",
                payment_token=token,
            )
        )

    def capture(self, order_id: str, authorization_id: str | None = None) -> Envelope:
        return envelope_for(
            CapturePayment(
                order_id=order_id,
                authorization_id=authorization_id or authorization_id_for(order_id),
                amount=TOTAL,
            )
        )

    def void(self, order_id: str, authorization_id: str | None = None) -> Envelope:
        return envelope_for(
            VoidPayment(
                order_id=order_id,
                authorization_id=authorization_id or authorization_id_for(order_id),
            )
        )

    def results(self, order_id: str) -> list[tuple[Operation, Result]]:
        return [(op.operation, op.result) for op in self.ledger.operations(order_id)]

    def remove(self) -> None:
        with self.ledger.engine.begin() as connection:
            for table in (payments_authorizations, payments_operations):
                connection.execute(delete(table).where(table.c.order_id.like(f"{self.prefix}-%")))
            forget_service(connection, self.service)


def replies_by_order(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    by_order: dict[str, list[str]] = {}
    for event in sorted(events, key=lambda event: event["detail"]["occurred_at"]):
        by_order.setdefault(event["detail"]["correlation_id"], []).append(event["detail-type"])
    return by_order


def fifo_event(*commands: Envelope | tuple[str, str]) -> dict[str, Any]:
    """Records for envelopes (group = order) or raw ``(body, group)`` pairs, in order."""
    records = [
        fifo_record(item.to_json(), item.correlation_id, str(item.event_id))
        if isinstance(item, Envelope)
        else fifo_record(*item)
        for item in commands
    ]
    return sqs_event(*records)


@pytest.fixture
def scenario(database_url: str, payments_bus: BusCapture) -> Iterator[Scenario]:
    engine = service_engine(database_url, metadata)
    scenario = Scenario(SqlLedger(engine), payments_bus)
    yield scenario
    scenario.remove()
    engine.dispose()


@pytest.fixture
def handler(database_url: str, scenario: Scenario) -> LambdaHandler:
    settings = ConsumerSettings(
        database_url=database_url,
        event_bus_name=scenario.bus.bus_name,
        service_name=scenario.service,
    )
    return payments_handler.build(settings, Clients(events=scenario.bus.events))


def test_a_failure_holds_only_its_own_order_and_the_retry_succeeds(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    paid, flaky, broken = scenario.order("paid"), scenario.order("flaky"), scenario.order("bad")
    event = fifo_event(
        scenario.authorize(paid),
        scenario.authorize(flaky, "tok_transient_error"),
        ("{truncated", broken),
        scenario.capture(paid),
        scenario.capture(flaky),
    )
    records = event["Records"]

    response = handler(event, LambdaContextDouble())

    assert failed_ids(response) == [
        records[1]["messageId"],
        records[2]["messageId"],
        records[4]["messageId"],
    ]
    assert scenario.results(paid) == [
        (Operation.AUTHORIZE, Result.AUTHORIZED),
        (Operation.CAPTURE, Result.CAPTURED),
    ]
    assert scenario.results(flaky) == [(Operation.AUTHORIZE, Result.TRANSIENT_ERROR)]

    retry = {"Records": [records[1], records[4]]}
    assert failed_ids(handler(retry, LambdaContextDouble())) == []

    assert scenario.results(flaky) == [
        (Operation.AUTHORIZE, Result.TRANSIENT_ERROR),
        (Operation.AUTHORIZE, Result.AUTHORIZED),
        (Operation.CAPTURE, Result.CAPTURED),
    ]
    assert [op.attempt for op in scenario.ledger.operations(flaky)[:2]] == [1, 2]
    replies = replies_by_order(scenario.bus.replies(4))
    assert replies == {
        paid: ["PaymentAuthorized", "PaymentCaptured"],
        flaky: ["PaymentAuthorized", "PaymentCaptured"],
    }


def test_declines_say_why(scenario: Scenario, handler: LambdaHandler) -> None:
    poor, unknown = scenario.order("poor"), scenario.order("unknown")
    event = fifo_event(
        scenario.authorize(poor, "tok_insufficient_funds"),
        scenario.authorize(unknown, "tok_4242424242424242"),
    )

    assert failed_ids(handler(event, None)) == []

    reasons = {
        event["detail"]["correlation_id"]: (
            event["detail-type"],
            event["detail"]["payload"]["reason"],
        )
        for event in scenario.bus.replies(2)
    }
    assert reasons == {
        poor: ("PaymentDeclined", "insufficient funds"),
        unknown: ("PaymentDeclined", "unknown test card"),
    }
    assert scenario.results(poor) == [(Operation.AUTHORIZE, Result.DECLINED)]


def test_a_permanent_error_fails_every_delivery_and_is_recorded(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    order = scenario.order("perm")
    event = fifo_event(scenario.authorize(order, "tok_permanent_error"), scenario.void(order))

    for _ in range(3):
        assert len(failed_ids(handler(event, LambdaContextDouble()))) == 2

    operations = scenario.ledger.operations(order)
    assert [(op.result, op.attempt) for op in operations] == [
        (Result.PERMANENT_ERROR, 1),
        (Result.PERMANENT_ERROR, 2),
        (Result.PERMANENT_ERROR, 3),
    ]
    assert scenario.ledger.authorization(order) is None


def test_the_same_command_twice_charges_once(scenario: Scenario, handler: LambdaHandler) -> None:
    order = scenario.order("twice")
    authorize, capture = scenario.authorize(order), scenario.capture(order)

    handler(fifo_event(authorize, capture), None)
    handler(fifo_event(authorize, authorize, capture, capture), None)

    assert scenario.results(order) == [
        (Operation.AUTHORIZE, Result.AUTHORIZED),
        (Operation.CAPTURE, Result.CAPTURED),
    ]
    assert sorted(e["detail-type"] for e in scenario.bus.replies(2, quiet_seconds=2)) == [
        "PaymentAuthorized",
        "PaymentCaptured",
    ]


def test_a_resent_command_with_a_new_id_answers_again_and_charges_nothing(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    order = scenario.order("resent")
    handler(fifo_event(scenario.authorize(order), scenario.capture(order)), None)

    handler(
        fifo_event(scenario.authorize(order, "tok_insufficient_funds"), scenario.capture(order)),
        None,
    )

    assert scenario.results(order) == [
        (Operation.AUTHORIZE, Result.AUTHORIZED),
        (Operation.CAPTURE, Result.CAPTURED),
        (Operation.AUTHORIZE, Result.REPEATED),
        (Operation.CAPTURE, Result.REPEATED),
    ]
    with scenario.ledger.engine.connect() as connection:
        rows = connection.execute(
            select(func.count())
            .select_from(payments_authorizations)
            .where(payments_authorizations.c.order_id == order)
        ).scalar_one()
    assert rows == 1


def test_capture_or_void_of_an_unknown_authorization_is_recorded_without_reply(
    scenario: Scenario, handler: LambdaHandler
) -> None:
    never, other = scenario.order("never"), scenario.order("other")
    handler(fifo_event(scenario.authorize(other)), None)

    response = handler(
        fifo_event(
            scenario.capture(never),
            scenario.void(never),
            scenario.void(other, authorization_id="auth_forged"),
        ),
        None,
    )

    assert failed_ids(response) == []
    assert scenario.results(never) == [
        (Operation.CAPTURE, Result.REJECTED),
        (Operation.VOID, Result.REJECTED),
    ]
    assert scenario.results(other)[-1] == (Operation.VOID, Result.REJECTED)
    assert [e["detail-type"] for e in scenario.bus.replies(1, quiet_seconds=2)] == [
        "PaymentAuthorized"
    ]


def test_commands_from_a_real_fifo_queue_apply_in_order_per_order(
    scenario: Scenario,
    handler: LambdaHandler,
    localstack: Any,
    unique_name: str,
    queues: Callable[..., str],
) -> None:
    """The event source mapping's loop, by hand: receive, invoke, delete what succeeded; a
    failed message comes back after its visibility timeout, still ahead of its group."""
    sqs = localstack.client("sqs")
    queue_url = queues(f"{unique_name}.fifo", FifoQueue="true", VisibilityTimeout="1")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    kept, cancelled = scenario.order("kept"), scenario.order("cancelled")
    commands = [
        scenario.authorize(kept, "tok_transient_error"),
        scenario.authorize(cancelled),
        scenario.capture(kept),
        scenario.void(cancelled),
    ]
    for command in commands:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=command.to_json(),
            MessageGroupId=command.correlation_id,
            MessageDeduplicationId=str(command.event_id),
        )

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        len(scenario.ledger.operations(kept)) < 3 or len(scenario.ledger.operations(cancelled)) < 2
    ):
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            continue
        event = sqs_event(*(as_lambda_record(message, queue_arn) for message in messages))
        failed = set(failed_ids(handler(event, LambdaContextDouble())))
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    assert scenario.results(kept) == [
        (Operation.AUTHORIZE, Result.TRANSIENT_ERROR),
        (Operation.AUTHORIZE, Result.AUTHORIZED),
        (Operation.CAPTURE, Result.CAPTURED),
    ]
    assert scenario.results(cancelled) == [
        (Operation.AUTHORIZE, Result.AUTHORIZED),
        (Operation.VOID, Result.VOIDED),
    ]
    assert replies_by_order(scenario.bus.replies(4)) == {
        kept: ["PaymentAuthorized", "PaymentCaptured"],
        cancelled: ["PaymentAuthorized", "PaymentVoided"],
    }
