"""Adapters of the orders service: the SQL event store with its transactional outbox."""

from services.orders.adapters.event_store import (
    ConcurrencyError,
    DuplicateEventError,
    NewEvent,
    OutboxMessage,
    OutboxRecord,
    RecordedEvent,
    SqlEventStore,
)

__all__ = [
    "ConcurrencyError",
    "DuplicateEventError",
    "NewEvent",
    "OutboxMessage",
    "OutboxRecord",
    "RecordedEvent",
    "SqlEventStore",
]
