"""Inventory's queue consumer: OrderPlaced reserves stock, OrderCancelled releases it.

Entry point ``services.inventory.handler.handler`` (SQS queue ``inventory``, fed by the SNS topic
with raw delivery); replies InventoryReserved / InventoryRejected go on the bus as
``shop.inventory``. A cancellation has no reply.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.inventory.domain import reply_for, requested_quantities
from services.inventory.store import InventoryStore
from shared.catalogue import load_catalogue
from shared.consumer import (
    BusPublisher,
    Clients,
    ConsumerSettings,
    LambdaHandler,
    LazyHandler,
    MessageConsumer,
    Observability,
    reply_to,
    sqs_handler,
)
from shared.contracts import Contract, OrderCancelled, OrderPlaced
from shared.database import create_engine_for
from shared.envelope import Envelope
from shared.idempotency import SqlPersistenceLayer
from shared.settings import load


class InventoryService:
    """Applies one order event to the stock and says what to reply."""

    def __init__(self, store: InventoryStore, observability: Observability) -> None:
        self.store = store
        self.observability = observability

    def __call__(self, envelope: Envelope, payload: Contract) -> Sequence[Envelope]:
        if isinstance(payload, OrderPlaced):
            return self.place(envelope, payload)
        if isinstance(payload, OrderCancelled):
            return self.cancel(payload)
        raise TypeError(f"inventory does not handle {envelope.type}")

    def place(self, envelope: Envelope, placed: OrderPlaced) -> Sequence[Envelope]:
        reservation = self.store.reserve(placed.order_id, requested_quantities(placed.lines))
        self.observability.count(f"Reservations{reservation.status.value.capitalize()}")
        reply = reply_for(reservation)
        if reply is None:
            self.observability.logger.info(
                f"order is {reservation.status.value}: nothing reserved, no reply"
            )
            return []
        return [reply_to(envelope, reply)]

    def cancel(self, cancelled: OrderCancelled) -> Sequence[Envelope]:
        reservation, returned = self.store.release(cancelled.order_id)
        self.observability.logger.info(
            f"cancellation applied: order is {reservation.status.value}",
            extra={"returned_stock": dict(returned)},
        )
        if returned:
            self.observability.count("ReservationsReleased")
        return []


def build_handler(settings: ConsumerSettings, clients: Clients) -> LambdaHandler:
    """The composition root: tables created and stock seeded once per cold start."""
    engine = create_engine_for(settings.database_url)
    store = InventoryStore(engine)
    store.create_tables()
    store.seed(load_catalogue())
    consumer = MessageConsumer(
        settings=settings,
        accepts=[OrderPlaced, OrderCancelled],
        handle=InventoryService(store, Observability(settings)),
        persistence=SqlPersistenceLayer(engine),
        publisher=BusPublisher(clients.events, settings.event_bus_name),
    )
    return sqs_handler(consumer)


handler = LazyHandler(lambda: build_handler(load(ConsumerSettings), Clients.from_environment()))
