"""The shared consumer plumbing, fed SQS and EventBridge events in the shapes AWS sends."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from shared.bus import ReplyPublisher
from shared.consumer import (
    Clients,
    ConsumerSettings,
    MessageConsumer,
    eventbridge_handler,
    reply_to,
    sqs_fifo_handler,
    sqs_handler,
)
from shared.contracts import (
    InventoryReserved,
    OrderPlaced,
    PaymentAuthorized,
    envelope_for,
)
from shared.database import create_engine_for
from shared.entry_point import EntryPoint, LambdaHandler
from shared.envelope import Envelope, MalformedMessage
from shared.idempotency import SqlPersistenceLayer
from shared.settings import ConfigurationError, load
from shared.tests.aws_events import (
    LambdaContextDouble,
    eventbridge_event,
    failed_ids,
    fifo_record,
    sqs_event,
    sqs_record,
)
from shared.tests.idempotency_records import forget_service


def order_placed(order_id: str | None = None) -> Envelope:
    order_id = order_id or f"ord-{uuid.uuid4().hex[:10]}"
    price = {"amount": 1250, "currency": "EUR"}
    return envelope_for(
        OrderPlaced.model_validate(
            {
                "order_id": order_id,
                "customer_email": "ada@example.com",
                "shipping_country": "DE",
                "lines": [{"sku": "MUG-01", "quantity": 1, "unit_price": price}],
                "total": price,
            }
        )
    )


class RecordingBus:
    """The EventBridge client's PutEvents, recording entries; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.entries: list[dict[str, Any]] = []
        self.failures = failures

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            return {
                "FailedEntryCount": len(Entries),
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]
                * len(Entries),
            }
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}

    def envelopes(self) -> list[Envelope]:
        return [Envelope.model_validate_json(entry["Detail"]) for entry in self.entries]


class Reserver:
    """A service's logic: replies InventoryReserved; fails for the orders in ``failing``."""

    accepts = (OrderPlaced,)

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.failing: set[str] = set()

    def handle(self, envelope: Envelope, payload: Any) -> list[Envelope]:
        if envelope.correlation_id in self.failing:
            raise RuntimeError(f"database unavailable for {envelope.correlation_id}")
        self.handled.append(envelope.correlation_id)
        return [reply_to(envelope, InventoryReserved(order_id=payload.order_id))]


@pytest.fixture
def service() -> str:
    return f"svc-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(database_url: str, service: str) -> ConsumerSettings:
    return ConsumerSettings(
        database_url=database_url, event_bus_name="orders", service_name=service
    )


@pytest.fixture
def engine(settings: ConsumerSettings, service: str) -> Iterator[Engine]:
    engine = create_engine_for(settings.database_url)
    yield engine
    with engine.begin() as connection:
        forget_service(connection, service)
    engine.dispose()


def consumer_for(
    settings: ConsumerSettings, engine: Engine, logic: Reserver, bus: RecordingBus
) -> MessageConsumer:
    return MessageConsumer(
        settings=settings,
        service=logic,
        persistence=SqlPersistenceLayer(engine),
        publisher=ReplyPublisher(Clients(events=bus), settings.event_bus_name),
    )


def log_lines(output: str) -> list[dict[str, Any]]:
    """The powertools log records in ``output`` (EMF metric lines are JSON too, without a level)."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "level" in line]


@pytest.mark.integration
def test_a_malformed_record_is_the_only_failure_of_its_batch(
    settings: ConsumerSettings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    logic, bus = Reserver(), RecordingBus()
    handler = sqs_handler(consumer_for(settings, engine, logic, bus))
    first, second = order_placed(), order_placed()
    malformed = sqs_record("{not json")
    event = sqs_event(sqs_record(first.to_json()), malformed, sqs_record(second.to_json()))

    response = handler(event, LambdaContextDouble())

    assert failed_ids(response) == [malformed["messageId"]]
    assert logic.handled == [first.correlation_id, second.correlation_id]
    assert [(e["Source"], e["DetailType"], e["EventBusName"]) for e in bus.entries] == [
        ("shop.inventory", "InventoryReserved", "orders")
    ] * 2
    assert [reply.causation_id for reply in bus.envelopes()] == [first.event_id, second.event_id]
    errors = [line for line in log_lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert malformed["messageId"] in errors[0]["message"]
    assert "not JSON" in errors[0]["message"]


@pytest.mark.integration
def test_unknown_unexpected_and_invalid_messages_fail_with_their_correlation_logged(
    settings: ConsumerSettings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    logic, bus = Reserver(), RecordingBus()
    handler = sqs_handler(consumer_for(settings, engine, logic, bus))
    good = order_placed()
    unknown = Envelope(type="OrderTeleported", correlation_id="ord-unknown")
    unexpected = envelope_for(
        PaymentAuthorized.model_validate(
            {
                "order_id": "ord-unexpected",
                "authorization_id": "auth-1",
                "amount": {"amount": 1, "currency": "EUR"},
            }
        )
    )
    invalid = good.model_copy(update={"event_id": uuid.uuid4(), "payload": {"order_id": "x"}})
    records = [sqs_record(m.to_json()) for m in (unknown, good, unexpected, invalid)]

    response = handler(sqs_event(*records), None)

    assert failed_ids(response) == [records[0]["messageId"], *(r["messageId"] for r in records[2:])]
    assert logic.handled == [good.correlation_id]
    errors = [line for line in log_lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert [line.get("correlation_id") for line in errors] == [
        "ord-unknown",
        "ord-unexpected",
        good.correlation_id,
    ]
    assert "unknown message type 'OrderTeleported'" in errors[0]["message"]
    assert "not a message this consumer takes" in errors[1]["message"]
    assert "invalid payload" in errors[2]["message"]


@pytest.mark.integration
def test_the_same_message_twice_is_handled_and_published_once(
    settings: ConsumerSettings, engine: Engine
) -> None:
    logic, bus = Reserver(), RecordingBus()
    handler = sqs_handler(consumer_for(settings, engine, logic, bus))
    placed = order_placed()

    first = handler(sqs_event(sqs_record(placed.to_json())), LambdaContextDouble())
    again = handler(
        sqs_event(sqs_record(placed.to_json()), sqs_record(placed.to_json())), LambdaContextDouble()
    )

    assert failed_ids(first) == failed_ids(again) == []
    assert logic.handled == [placed.correlation_id]
    assert len(bus.entries) == 1


@pytest.mark.integration
def test_a_failed_publish_is_retried_with_the_same_reply_id(
    settings: ConsumerSettings, engine: Engine
) -> None:
    logic, bus = Reserver(), RecordingBus(failures=1)
    handler = sqs_handler(consumer_for(settings, engine, logic, bus))
    record = sqs_record(order_placed().to_json())

    assert failed_ids(handler(sqs_event(record), None)) == [record["messageId"]]
    assert failed_ids(handler(sqs_event(record), None)) == []

    assert len(logic.handled) == 2
    (reply,) = bus.envelopes()
    assert (
        reply.event_id
        == reply_to(Envelope.model_validate_json(record["body"]), reply_payload(reply)).event_id
    )


def reply_payload(reply: Envelope) -> InventoryReserved:
    return InventoryReserved.model_validate(reply.payload)


@pytest.mark.integration
def test_a_handler_failure_is_reported_and_the_retry_runs_it_again(
    settings: ConsumerSettings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    logic, bus = Reserver(), RecordingBus()
    handler = sqs_handler(consumer_for(settings, engine, logic, bus))
    placed, other = order_placed(), order_placed()
    logic.failing.add(placed.correlation_id)
    failing = sqs_record(placed.to_json())

    response = handler(sqs_event(failing, sqs_record(other.to_json())), None)
    assert failed_ids(response) == [failing["messageId"]]
    traceback_logged = [
        line
        for line in log_lines(capsys.readouterr().out)
        if line["level"] == "ERROR" and line.get("correlation_id") == placed.correlation_id
    ]
    assert "database unavailable" in traceback_logged[0]["exception"]

    logic.failing.clear()
    assert failed_ids(handler(sqs_event(failing), None)) == []
    assert logic.handled == [other.correlation_id, placed.correlation_id]


@pytest.mark.integration
def test_fifo_failure_holds_only_the_later_messages_of_its_group(
    settings: ConsumerSettings, engine: Engine
) -> None:
    logic, bus = Reserver(), RecordingBus()
    handler = sqs_fifo_handler(consumer_for(settings, engine, logic, bus))
    first_a, later_a, only_b = order_placed("ord-a1"), order_placed("ord-a3"), order_placed()
    records = [
        fifo_record(first_a.to_json(), "group-a"),
        fifo_record("[]", "group-a"),
        fifo_record(later_a.to_json(), "group-a"),
        fifo_record(only_b.to_json(), "group-b"),
    ]

    response = handler(sqs_event(*records), LambdaContextDouble())

    assert failed_ids(response) == [records[1]["messageId"], records[2]["messageId"]]
    assert logic.handled == [first_a.correlation_id, only_b.correlation_id]


@pytest.mark.integration
def test_a_batch_where_every_record_fails_reports_every_record(
    settings: ConsumerSettings, engine: Engine
) -> None:
    handler = sqs_handler(consumer_for(settings, engine, Reserver(), RecordingBus()))
    records = [sqs_record(""), sqs_record('{"type": "OrderPlaced"}')]

    response = handler(sqs_event(*records), None)

    assert failed_ids(response) == [record["messageId"] for record in records]


@pytest.mark.integration
def test_eventbridge_events_are_read_from_their_detail(
    settings: ConsumerSettings, engine: Engine
) -> None:
    logic, bus = Reserver(), RecordingBus()
    handler = eventbridge_handler(consumer_for(settings, engine, logic, bus))
    placed = order_placed()
    event = eventbridge_event(placed.model_dump(mode="json"))

    assert handler(event, LambdaContextDouble()) == {"replies": ["InventoryReserved"]}
    assert handler(event, LambdaContextDouble()) == {"replies": ["InventoryReserved"]}
    assert logic.handled == [placed.correlation_id]
    with pytest.raises(MalformedMessage, match="no object 'detail'"):
        handler(eventbridge_event("OrderPlaced"), None)


def test_settings_name_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    with pytest.raises(ConfigurationError) as error:
        load(ConsumerSettings)
    assert "DATABASE_URL" in str(error.value)
    assert "EVENT_BUS_NAME" in str(error.value)


def test_settings_read_the_powertools_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("EVENT_BUS_NAME", "orders")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "inventory")
    monkeypatch.setenv("IDEMPOTENCY_EXPIRY_SECONDS", "60")
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    settings = load(ConsumerSettings)
    assert (settings.service_name, settings.metrics_namespace) == ("inventory", "Shop")
    assert settings.idempotency_expiry_seconds == 60


def test_a_reply_id_is_derived_from_its_cause_and_type() -> None:
    placed = order_placed()
    reply = reply_to(placed, InventoryReserved(order_id=placed.correlation_id))
    again = reply_to(placed, InventoryReserved(order_id=placed.correlation_id))
    assert (reply.event_id, reply.type) == (again.event_id, again.type)
    assert (reply.causation_id, reply.correlation_id) == (placed.event_id, placed.correlation_id)
    assert reply.event_id != reply_to(order_placed(), reply_payload(reply)).event_id


def test_an_entry_point_is_built_once_on_first_call() -> None:
    builds: list[int] = []

    class Echo(EntryPoint):
        def build(self) -> LambdaHandler:
            builds.append(1)
            return lambda event, context: {"echo": event}

    handler = Echo()
    assert builds == []
    assert handler({"n": 1}) == {"echo": {"n": 1}}
    assert handler({"n": 2}) == {"echo": {"n": 2}}
    assert builds == [1]
