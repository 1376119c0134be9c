"""Payments' FIFO consumer: AuthorizePayment, then CapturePayment or VoidPayment, per order.

Entry point ``services.payments.handler.handler`` (SQS FIFO queue ``payments.fifo``, message
group = order id). Replies PaymentAuthorized / PaymentDeclined / PaymentCaptured /
PaymentVoided go on the bus as ``shop.payments``. A provider failure is logged in
``payments_operations`` and raised: the message and the later ones of its order wait for the
redelivery (transient error) or end in the dead-letter queue (permanent error).
"""

from __future__ import annotations

from collections.abc import Sequence

from services.payments.domain import (
    Authorization,
    Operation,
    Outcome,
    PermanentProviderError,
    ProviderError,
    Result,
    authorize,
    capture,
    void,
)
from services.payments.store import PaymentsStore
from shared.consumer import (
    BusPublisher,
    Clients,
    ConsumerSettings,
    LambdaHandler,
    LazyHandler,
    MessageConsumer,
    Observability,
    reply_to,
    sqs_fifo_handler,
)
from shared.contracts import AuthorizePayment, CapturePayment, Contract, VoidPayment
from shared.database import create_engine_for
from shared.envelope import Envelope
from shared.idempotency import SqlPersistenceLayer
from shared.settings import load


class PaymentsService:
    """Applies one payment command and says what to reply."""

    def __init__(self, store: PaymentsStore, observability: Observability) -> None:
        self.store = store
        self.observability = observability

    def __call__(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        order_id = envelope.correlation_id
        before = self.store.authorization(order_id)
        attempt: int | None = None
        if isinstance(payload, AuthorizePayment):
            attempt = self.store.failed_attempts(order_id, Operation.AUTHORIZE) + 1
            outcome = self._authorize(envelope, before, payload, attempt)
        elif isinstance(payload, CapturePayment):
            outcome = capture(before, payload)
        elif isinstance(payload, VoidPayment):
            outcome = void(before, payload)
        else:
            raise TypeError(f"payments does not handle {envelope.type}")
        self.store.apply(order_id, before, outcome, str(envelope.event_id), attempt)
        self._report(outcome)
        return [] if outcome.reply is None else [reply_to(envelope, outcome.reply)]

    def _authorize(
        self,
        envelope: Envelope,
        before: Authorization | None,
        command: AuthorizePayment,
        attempt: int,
    ) -> Outcome:
        try:
            return authorize(before, command, attempt)
        except ProviderError as error:
            result = (
                Result.PERMANENT_ERROR
                if isinstance(error, PermanentProviderError)
                else Result.TRANSIENT_ERROR
            )
            self.store.record_failure(
                command.order_id,
                str(envelope.event_id),
                Operation.AUTHORIZE,
                result,
                attempt,
                str(error),
            )
            self.observability.count("ProviderErrors")
            raise

    def _report(self, outcome: Outcome) -> None:
        message = f"{outcome.operation.value}: {outcome.result.value} ({outcome.detail})"
        if outcome.result is Result.REJECTED:
            self.observability.logger.warning(message)
            self.observability.count("PaymentCommandsRejected")
        else:
            self.observability.logger.info(message)
            self.observability.count(f"Payments{outcome.result.value.capitalize()}")


def build_handler(settings: ConsumerSettings, clients: Clients) -> LambdaHandler:
    """The composition root: tables created once per cold start."""
    engine = create_engine_for(settings.database_url)
    store = PaymentsStore(engine)
    store.create_tables()
    consumer = MessageConsumer(
        settings=settings,
        accepts=[AuthorizePayment, CapturePayment, VoidPayment],
        handle=PaymentsService(store, Observability(settings)),
        persistence=SqlPersistenceLayer(engine),
        publisher=BusPublisher(clients.events, settings.event_bus_name),
    )
    return sqs_fifo_handler(consumer)


handler = LazyHandler(lambda: build_handler(load(ConsumerSettings), Clients.from_environment()))
