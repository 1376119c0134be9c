"""The orders service layer: commands in, decisions appended with their outbox messages.

``OrderService`` reads an order's stream, folds it into the domain state, lets the domain
``decide``, and appends the resulting events together with the outbox messages that announce
them, in one transaction. It is also the one place where domain records and wire messages are
translated into each other: recorded payloads are the payloads of ``shared.contracts``.

Outbox destinations (the relay's contract):

- ``"sns"`` and ``"bus"``: every event of ``shared.contracts.ORDER_EVENTS`` (one message each);
- ``"fifo"``: every payment command, ``group_id`` = order id.

The body of every outbox message is the envelope as a JSON object
(``Envelope.model_dump(mode="json")``). Replies of other services are recorded in the stream
under their own ``event_id`` and never republished.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError
from sqlalchemy import JSON, Column, Connection, DateTime, Engine, Integer, String, Table, select
from sqlalchemy.exc import IntegrityError

from services.orders.adapters.event_store import (
    ConcurrencyError,
    DuplicateEventError,
    NewEvent,
    OutboxMessage,
    RecordedEvent,
    SqlEventStore,
    metadata,
)
from services.orders.domain import events as domain
from services.orders.domain.commands import (
    ApproveReview,
    CancelOrder,
    OrderCommand,
    PlaceOrder,
    RejectReview,
)
from services.orders.domain.model import OrderState, decide, fold
from services.orders.domain.money import InvalidMoney, Money
from shared import contracts
from shared.catalogue import load_catalogue
from shared.envelope import Envelope, MalformedMessage

idempotency_keys_table = Table(
    "orders_idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_fingerprint", String(64), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

REPLY_CONTRACTS: tuple[type[contracts.Contract], ...] = tuple(contracts.REPLY_SOURCES)
PUBLISHED_EVENTS = frozenset(model.__name__ for model in contracts.ORDER_EVENTS)
PAYMENT_COMMANDS = frozenset(model.__name__ for model in contracts.PAYMENT_COMMANDS)

DOMAIN_EVENTS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        domain.OrderPlaced,
        *domain.REPLY_TYPES,
        domain.OrderConfirmed,
        domain.OrderPutOnHold,
        domain.OrderReviewApproved,
        domain.OrderReviewRejected,
        domain.OrderCancelled,
        domain.LateReplyIgnored,
    )
}


class UnknownOrder(LookupError):
    """No order has this id (its stream is empty)."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"no order with id {order_id!r}")


class IdempotencyKeyReused(ValueError):
    """The idempotency key was used before for a different request."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"idempotency key {key!r} was already used for a different request body;"
            " use a new key for a new order"
        )


# --- translation between domain records and wire messages --------------------------------


def to_wire(record: domain.Event | domain.PaymentCommand) -> contracts.Contract:
    """The contract payload of a domain event or payment command."""
    schema = contracts.SCHEMAS[type(record).__name__]
    return schema.model_validate(dataclasses.asdict(record))


def to_domain(type_name: str, payload: Mapping[str, Any]) -> domain.Event:
    """The domain event of a recorded or received payload (extra wire fields are dropped)."""
    cls = DOMAIN_EVENTS.get(type_name)
    if cls is None:
        raise MalformedMessage(f"{type_name!r} is not an event of the order stream")
    try:
        data = contracts.SCHEMAS[type_name].model_validate(payload).model_dump()
        values = {
            f.name: _domain_value(data[f.name]) for f in dataclasses.fields(cls) if f.name in data
        }
        event: domain.Event = cls(**values)
    except (ValidationError, InvalidMoney) as error:
        raise MalformedMessage(f"{type_name}: {error}") from error
    return event


def _domain_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return Money(value["amount"], value["currency"])
    if isinstance(value, dict) and {"sku", "quantity", "unit_price"} <= set(value):
        return domain.OrderLine(value["sku"], value["quantity"], _domain_value(value["unit_price"]))
    if isinstance(value, list | tuple):
        return tuple(_domain_value(item) for item in value)
    return value


def domain_history(recorded: Sequence[RecordedEvent]) -> list[domain.Event]:
    return [to_domain(event.type, event.payload) for event in recorded]


@lru_cache(maxsize=64)
def catalogue_for(currency: str) -> Mapping[str, Money]:
    """Catalogue prices in ``currency``; a product without that price keeps its first one, so
    the domain can say which currency it is sold in."""
    prices: dict[str, Money] = {}
    for product in load_catalogue():
        try:
            if currency in product.prices:
                prices[product.sku] = Money(product.prices[currency], currency)
            else:
                first_currency, amount = next(iter(product.prices.items()))
                prices[product.sku] = Money(amount, first_currency)
        except InvalidMoney:
            continue
    return MappingProxyType(prices)


def request_fingerprint(body: Mapping[str, Any]) -> str:
    """A digest of a request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderView:
    """An order as its stream says it is now."""

    state: OrderState
    placed: domain.OrderPlaced
    placed_at: datetime
    updated_at: datetime

    @property
    def order_id(self) -> str:
        return self.state.order_id

    def to_dict(self) -> dict[str, Any]:
        state, placed = self.state, self.placed
        return {
            "order_id": state.order_id,
            "status": str(state.status),
            "version": state.version,
            "customer_email": placed.customer_email,
            "shipping_country": placed.shipping_country,
            "lines": [
                {
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": _money(line.unit_price),
                    "subtotal": _money(line.subtotal),
                }
                for line in placed.lines
            ],
            "item_count": sum(line.quantity for line in placed.lines),
            "total": _money(placed.total),
            "stock": str(state.stock),
            "payment": str(state.payment),
            "fraud": str(state.fraud),
            "cancel_reason": state.cancel_reason,
            "placed_at": self.placed_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _money(money: Money) -> dict[str, Any]:
    return {"amount": money.amount, "currency": money.currency}


def view_of(recorded: Sequence[RecordedEvent]) -> OrderView:
    history = domain_history(recorded)
    placed = history[0]
    if not isinstance(placed, domain.OrderPlaced):
        raise MalformedMessage(f"stream {recorded[0].stream_id!r} does not start with OrderPlaced")
    return OrderView(
        state=fold(history),
        placed=placed,
        placed_at=recorded[0].recorded_at,
        updated_at=recorded[-1].recorded_at,
    )


@dataclass(frozen=True)
class Placement:
    """The response to a placement: ``replayed`` when it was stored under the same key."""

    status_code: int
    order: dict[str, Any]
    replayed: bool


# --- the service ---------------------------------------------------------------------------


class OrderService:
    """Composition of the event store and catalogue prices; every use case of the service."""

    def __init__(self, store: SqlEventStore, *, max_attempts: int = 5) -> None:
        self.store = store
        self.max_attempts = max_attempts

    @classmethod
    def for_engine(cls, engine: Engine) -> OrderService:
        return cls(SqlEventStore(engine))

    @staticmethod
    def new_order_id() -> str:
        """A fresh, unguessable order id (UUID4)."""
        return str(uuid.uuid4())

    # queries

    def history(self, order_id: str) -> list[RecordedEvent]:
        recorded = self.store.read_stream(order_id)
        if not recorded:
            raise UnknownOrder(order_id)
        return recorded

    def get(self, order_id: str) -> OrderView:
        return view_of(self.history(order_id))

    # commands

    def place(
        self,
        command: PlaceOrder,
        *,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> Placement:
        """Place an order priced from the catalogue. With ``idempotency_key`` the response is
        stored with the order in the same transaction; the same key with the same
        ``fingerprint`` returns it again, with another fingerprint raises
        ``IdempotencyKeyReused``. Raises ``InvalidOrder`` for a command that breaks a rule."""
        if idempotency_key is not None:
            stored = self._stored_placement(idempotency_key, fingerprint or "")
            if stored is not None:
                return stored
        decision = decide(command, OrderState(), catalogue=catalogue_for(command.currency))
        cause_id = _request_id(idempotency_key)
        new_events, outbox = self.records_of(command.order_id, decision, cause_id=cause_id)
        response: dict[str, Any] = {}

        def keep_response(conn: Connection, recorded: Sequence[RecordedEvent]) -> None:
            """The response, stored under the key in the append's transaction."""
            response.update(view_of(recorded).to_dict())
            conn.execute(
                idempotency_keys_table.insert(),
                {
                    "key": idempotency_key,
                    "request_fingerprint": fingerprint or "",
                    "order_id": command.order_id,
                    "status_code": 201,
                    "response": response,
                    "created_at": datetime.now(UTC),
                },
            )

        try:
            recorded = self.store.append(
                command.order_id,
                0,
                new_events,
                outbox,
                in_transaction=None if idempotency_key is None else keep_response,
            )
        except IntegrityError:
            if idempotency_key is None:
                raise
            stored = self._stored_placement(idempotency_key, fingerprint or "")
            if stored is None:
                raise
            return stored
        return Placement(201, response or view_of(recorded).to_dict(), replayed=False)

    def cancel(
        self,
        order_id: str,
        reason: str = "cancelled by customer",
        *,
        expected_version: int | None = None,
    ) -> OrderView:
        return self._handle(CancelOrder(order_id, reason), expected_version)

    def review(
        self,
        order_id: str,
        approve: bool,
        reviewer: str,
        reason: str = "rejected on review",
        *,
        expected_version: int | None = None,
    ) -> OrderView:
        command: OrderCommand = (
            ApproveReview(order_id, reviewer)
            if approve
            else RejectReview(order_id, reviewer, reason)
        )
        return self._handle(command, expected_version)

    def apply_reply(self, envelope: Envelope) -> None:
        """Record a reply of another service and what it causes. Idempotent on
        ``envelope.event_id``; retries version conflicts; raises ``MalformedMessage`` for a
        message it cannot read and ``UnknownOrder`` for an order that does not exist."""
        payload = contracts.payload_of(envelope, *REPLY_CONTRACTS)
        reply = to_domain(envelope.type, payload.model_dump(mode="json"))
        if not isinstance(reply, domain.REPLY_TYPES):
            raise MalformedMessage(f"{envelope.type} is not a reply")
        order_id = envelope.correlation_id
        attempt = 0
        while True:
            attempt += 1
            recorded = self.history(order_id)
            if any(event.event_id == envelope.event_id for event in recorded):
                return
            state = fold(domain_history(recorded))
            decision = decide(reply, state)
            new_events, outbox = self.records_of(
                order_id, decision, cause_id=envelope.event_id, reply=(reply, envelope, payload)
            )
            if not new_events and not outbox:
                return
            try:
                self.store.append(order_id, state.version, new_events, outbox)
                return
            except DuplicateEventError:
                return
            except ConcurrencyError:
                if attempt == self.max_attempts:
                    raise
                _back_off(attempt)

    # internals

    def _handle(self, command: OrderCommand, expected_version: int | None) -> OrderView:
        """Decide ``command`` on the current stream and append. With ``expected_version`` the
        caller's view must be current (else ``ConcurrencyError``); without, conflicts with
        concurrent writers are retried on fresh state."""
        attempt = 0
        while True:
            attempt += 1
            recorded = self.history(command.order_id)
            state = fold(domain_history(recorded))
            if expected_version is not None and expected_version != state.version:
                raise ConcurrencyError(command.order_id, expected_version, state.version)
            decision = decide(command, state)
            if not decision:
                return view_of(recorded)
            new_events, outbox = self.records_of(command.order_id, decision, cause_id=uuid.uuid4())
            try:
                appended = self.store.append(command.order_id, state.version, new_events, outbox)
                return view_of([*recorded, *appended])
            except ConcurrencyError:
                if expected_version is not None or attempt == self.max_attempts:
                    raise
                _back_off(attempt)

    def _stored_placement(self, key: str, fingerprint: str) -> Placement | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(idempotency_keys_table).where(idempotency_keys_table.c.key == key)
            ).one_or_none()
        if row is None:
            return None
        if row.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused(key)
        return Placement(int(row.status_code), dict(row.response), replayed=True)

    @staticmethod
    def records_of(
        order_id: str,
        decision: Sequence[domain.Event | domain.PaymentCommand],
        *,
        cause_id: uuid.UUID,
        reply: tuple[domain.Reply, Envelope, contracts.Contract] | None = None,
    ) -> tuple[list[NewEvent], list[OutboxMessage]]:
        """The events to append and the outbox messages to send for a decision."""
        new_events: list[NewEvent] = []
        outbox: list[OutboxMessage] = []
        for record in decision:
            if reply is not None and record is reply[0]:
                _, received, payload = reply
                # recorded as received (extra wire fields kept), never republished
                new_events.append(_new_event(received, payload.model_dump(mode="json")))
                continue
            type_name = type(record).__name__
            envelope = Envelope(
                type=type_name,
                correlation_id=order_id,
                causation_id=cause_id,
                payload=to_wire(record).model_dump(mode="json"),
            )
            body = envelope.model_dump(mode="json")
            if type_name in PAYMENT_COMMANDS:
                outbox.append(OutboxMessage("fifo", body, order_id, envelope.event_id))
                continue
            new_events.append(_new_event(envelope, envelope.payload))
            if type_name in PUBLISHED_EVENTS:
                outbox.append(OutboxMessage("sns", body, None, envelope.event_id))
                outbox.append(OutboxMessage("bus", body, None, envelope.event_id))
        return new_events, outbox


def _new_event(envelope: Envelope, payload: Mapping[str, Any]) -> NewEvent:
    return NewEvent(
        type=envelope.type,
        payload=payload,
        schema_version=envelope.version,
        metadata={
            "correlation_id": envelope.correlation_id,
            "causation_id": None if envelope.causation_id is None else str(envelope.causation_id),
            "occurred_at": envelope.occurred_at.isoformat(),
        },
        event_id=envelope.event_id,
    )


def _request_id(idempotency_key: str | None) -> uuid.UUID:
    """The causation id of a placement: stable for an idempotency key, else fresh."""
    if idempotency_key is None:
        return uuid.uuid4()
    return uuid.uuid5(uuid.NAMESPACE_URL, f"orders:idempotency-key:{idempotency_key}")


def _back_off(attempt: int) -> None:
    time.sleep(min(0.005 * 2**attempt, 0.1))
