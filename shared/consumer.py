"""The consumer chassis: what every Lambda consumer shares, around one service of its own.

A consumer is a service object (``MessageService``: the message types it ``accepts`` and
``handle(envelope, payload) -> replies``) and one ``ConsumerLambda`` in its ``handler.py`` that
wires it; everything around the service is the same for every consumer:

- the envelope is read from an SQS record body (SNS raw delivery, or a bus rule with
  ``InputPath: $.detail``) or from an EventBridge event's ``detail``, and its payload validated
  against the types the service ``accepts``;
- a malformed or unexpected message raises ``MalformedMessage`` after one error log line, so it is
  a batch item failure and ends in the dead-letter queue after ``maxReceiveCount``;
- the call is idempotent on ``event_id`` (powertools ``idempotent_function`` over the SQL
  persistence layer, keys prefixed with the service name, in-progress records expire);
- the replies are put on the bus, inside the idempotent call, so a delivery that saw them
  published is never handled again and one that failed to publish is handled again;
- logs carry the envelope's correlation id, metrics go out as EMF in namespace ``Shop``.

Standard queues get ``sqs_handler`` (``BatchProcessor``), FIFO queues ``sqs_fifo_handler``
(``SqsFifoPartialProcessor`` with ``skip_group_on_error``: a failure holds only its own message
group), EventBridge rule targets ``eventbridge_handler``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from aws_lambda_powertools.utilities.batch import (
    BasePartialBatchProcessor,
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, MetaData

from shared import aws
from shared.bus import ReplyPublisher
from shared.contracts import Contract, envelope_for, payload_of
from shared.database import create_engine_for, create_tables
from shared.entry_point import EntryPoint, LambdaEvent, LambdaHandler
from shared.envelope import Envelope, MalformedMessage, parse_envelope
from shared.idempotency import SqlPersistenceLayer
from shared.observability import Observability
from shared.settings import load

LOG_KEYS = ("correlation_id", "event_id", "message_type")


class ConsumerSettings(BaseSettings):
    """What every consumer Lambda reads from its environment (subclass to add a service's own)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(min_length=1)
    event_bus_name: str = Field(min_length=1)
    idempotency_expiry_seconds: int = Field(default=3600, gt=0)
    idempotency_in_progress_seconds: int = Field(
        default=300,
        gt=0,
        description="in-progress expiry when no Lambda context gives the time left",
    )
    service_name: str = Field(
        default="service_undefined", min_length=1, validation_alias="POWERTOOLS_SERVICE_NAME"
    )
    metrics_namespace: str = Field(
        default="Shop", min_length=1, validation_alias="POWERTOOLS_METRICS_NAMESPACE"
    )

    def observability(self) -> Observability:
        return Observability(self.service_name, self.metrics_namespace)


class Clients:
    """The AWS clients of a consumer by service name: from ``shared.aws`` (aimed by
    configuration) unless a test passes its own, for example ``Clients(events=...)``."""

    def __init__(self, **given: Any) -> None:
        self.given = given

    def __call__(self, service: str) -> Any:
        return self.given[service] if service in self.given else aws.client(service)


class MessageService(Protocol):
    """A consumer's own logic: the message types it takes, and what it does with one."""

    @property
    def accepts(self) -> tuple[type[Contract], ...]: ...

    def handle(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        """Act on one message (its payload validated as one of ``accepts``); the replies."""
        ...


# --- reading envelopes ---------------------------------------------------------------------


def envelope_from_sqs(record: SQSRecord) -> Envelope:
    """The envelope in an SQS message body (SNS raw delivery, or a rule with ``$.detail``)."""
    return parse_envelope(record.body)


def envelope_from_eventbridge(event: Mapping[str, Any]) -> Envelope:
    """The envelope in an EventBridge event: its ``detail``."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedMessage(
            f"EventBridge event {event.get('id', '?')} has no object 'detail' (got "
            f"{type(detail).__name__})"
        )
    return parse_envelope(detail)


def reply_to(cause: Envelope, payload: Contract) -> Envelope:
    """The reply to ``cause``: same correlation, causation = cause, and an id derived from the
    cause and the reply type, so a handler that runs again publishes the same event again."""
    reply = envelope_for(payload, cause=cause)
    return reply.model_copy(update={"event_id": uuid.uuid5(cause.event_id, reply.type)})


# --- one message, once ---------------------------------------------------------------------


class _Deadline:
    """Stands in for the Lambda context's remaining time when there is no context (direct
    calls), so an in-progress record of a crashed call still expires."""

    def __init__(self, seconds: int) -> None:
        self.milliseconds = seconds * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self.milliseconds


class MessageConsumer:
    """Reads, validates, de-duplicates and handles one message, then publishes its replies."""

    def __init__(
        self,
        *,
        settings: ConsumerSettings,
        service: MessageService,
        persistence: BasePersistenceLayer,
        publisher: ReplyPublisher,
        observability: Observability | None = None,
    ) -> None:
        if not service.accepts:
            raise ValueError("a consumer must name the message types it accepts")
        self.accepts = tuple(service.accepts)
        self.service = service
        self.publisher = publisher
        self.observability = observability or settings.observability()
        self.logger = self.observability.logger
        self._default_deadline = _Deadline(settings.idempotency_in_progress_seconds)
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="event_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.idempotency_expiry_seconds,
            response_hook=self._already_handled,
        )
        self._handle_once = idempotent_function(
            self._handle_and_publish,
            data_keyword_argument="message",
            persistence_store=persistence,
            config=self.idempotency,
            key_prefix=settings.service_name,
        )

    def consume(self, read: Callable[[], Envelope], message_id: str) -> list[dict[str, Any]]:
        """Handle the message ``read`` returns; the replies (as JSON) that were published for it.

        Raises for a malformed or unexpected message (logged once) and for any failure of the
        handler or the bus (logged with its traceback): the caller reports it as failed.
        """
        try:
            envelope = read()
        except MalformedMessage as error:
            self._reject(message_id, error)
            raise
        self.logger.append_keys(
            correlation_id=envelope.correlation_id,
            event_id=str(envelope.event_id),
            message_type=envelope.type,
        )
        try:
            try:
                payload_of(envelope, *self.accepts)
            except MalformedMessage as error:
                self._reject(message_id, error)
                raise
            try:
                replies: list[dict[str, Any]] = self._handle_once(
                    message=envelope.model_dump(mode="json")
                )
            except Exception:
                self.logger.exception(f"{envelope.type} failed; it will be delivered again")
                self.observability.count("MessagesFailed")
                raise
            self.observability.count("MessagesHandled")
            return replies
        finally:
            self.logger.remove_keys(list(LOG_KEYS))

    def lambda_handler(self, handle_event: LambdaHandler) -> LambdaHandler:
        """``handle_event`` with the Lambda context registered (in-progress expiry, log keys),
        traced when X-Ray is available and metrics flushed after each invocation."""
        traced = (
            self.observability.tracer.capture_lambda_handler(handle_event)
            if self.observability.tracer
            else handle_event
        )
        with_context = self.logger.inject_lambda_context(traced)

        def invoke(event: LambdaEvent, context: Any = None) -> dict[str, Any]:
            self.idempotency.register_lambda_context(
                cast(LambdaContext, context if context is not None else self._default_deadline)
            )
            try:
                if context is None:
                    return handle_event(event, context)
                return cast(dict[str, Any], with_context(event, context))
            finally:
                self.observability.metrics.flush_metrics()

        return invoke

    def _handle_and_publish(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        envelope = Envelope.model_validate(message)
        replies = list(self.service.handle(envelope, payload_of(envelope, *self.accepts)))
        if replies:
            self.publisher.publish(replies)
        self.logger.info(
            f"{envelope.type} handled",
            extra={"replies": [f"{reply.type} {reply.event_id}" for reply in replies]},
        )
        return [reply.model_dump(mode="json") for reply in replies]

    def _already_handled(self, response: Any, idempotent_data: DataRecord) -> Any:
        self.logger.info("already handled: duplicate delivery ignored")
        self.observability.count("DuplicatesIgnored")
        return response if response is not None else []

    def _reject(self, message_id: str, error: MalformedMessage) -> None:
        self.logger.error(
            f"message {message_id} rejected: {error}", extra={"message_id": message_id}
        )
        self.observability.count("MessagesRejected")


# --- Lambda handlers -----------------------------------------------------------------------


def _batch_handler(
    consumer: MessageConsumer, processor: BasePartialBatchProcessor
) -> LambdaHandler:
    def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
        return consumer.consume(lambda: envelope_from_sqs(record), record.message_id)

    def handle_batch(event: LambdaEvent, context: Any) -> dict[str, Any]:
        return dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )

    return consumer.lambda_handler(handle_batch)


def sqs_handler(consumer: MessageConsumer) -> LambdaHandler:
    """A standard-queue handler: each failed record is reported in ``batchItemFailures``."""
    return _batch_handler(
        consumer, BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    )


def sqs_fifo_handler(consumer: MessageConsumer) -> LambdaHandler:
    """A FIFO-queue handler: a failed record and the later records of its message group are
    reported failed (kept in order for the retry); other groups go on."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    processor.raise_on_entire_batch_failure = False
    return _batch_handler(consumer, processor)


def eventbridge_handler(consumer: MessageConsumer) -> LambdaHandler:
    """A rule-target handler: raises on failure (Lambda's async retries, then its DLQ)."""

    def handle_event(event: LambdaEvent, context: Any) -> dict[str, Any]:
        replies = consumer.consume(
            lambda: envelope_from_eventbridge(event), str(event.get("id", "unknown"))
        )
        return {"replies": [reply["type"] for reply in replies]}

    return consumer.lambda_handler(handle_event)


# --- the Lambda entry point ----------------------------------------------------------------

SettingsT = TypeVar("SettingsT", bound=ConsumerSettings)


@dataclass(frozen=True)
class Wiring(Generic[SettingsT]):
    """What a consumer's service is built from at cold start (its tables already exist)."""

    settings: SettingsT
    engine: Engine
    clients: Clients
    telemetry: Observability
    publisher: ReplyPublisher


class ConsumerLambda(EntryPoint, Generic[SettingsT]):
    """A consumer's ``handler``: its settings, tables and service, behind one trigger
    (``sqs_handler``, ``sqs_fifo_handler`` or ``eventbridge_handler``)."""

    def __init__(
        self,
        *,
        settings: type[SettingsT],
        tables: MetaData,
        service: Callable[[Wiring[SettingsT]], MessageService],
        trigger: Callable[[MessageConsumer], LambdaHandler],
    ) -> None:
        self.settings = settings
        self.tables = tables
        self.service = service
        self.trigger = trigger

    def build(
        self, settings: SettingsT | None = None, clients: Clients | None = None
    ) -> LambdaHandler:
        """The composition root: the database and its tables, the service, the chassis."""
        settings = settings or load(self.settings)
        clients = clients or Clients()
        engine = create_engine_for(settings.database_url)
        create_tables(self.tables, engine)
        wiring = Wiring(
            settings=settings,
            engine=engine,
            clients=clients,
            telemetry=settings.observability(),
            publisher=ReplyPublisher(clients, settings.event_bus_name),
        )
        consumer = MessageConsumer(
            settings=settings,
            service=self.service(wiring),
            persistence=SqlPersistenceLayer(engine),
            publisher=wiring.publisher,
            observability=wiring.telemetry,
        )
        return self.trigger(consumer)
