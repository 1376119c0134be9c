"""The orders service layer: commands in, decisions appended with their outbox messages.

``OrderService`` reads an order's stream, folds it into the domain state, lets the domain
``decide``, and appends the resulting events together with the outbox messages that announce
them, in one transaction. What it needs from outside is in ``services.orders.ports``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.orders.adapters import wire
from services.orders.backoff import Backoff
from services.orders.domain import events as domain
from services.orders.domain.commands import (
    ApproveReview,
    CancelOrder,
    OrderCommand,
    PlaceOrder,
    RejectReview,
)
from services.orders.domain.model import Decision, OrderState, decide, fold
from services.orders.ports import (
    Catalogue,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    IdempotencyKey,
    IdempotencyKeyTaken,
    RecordedEvent,
)
from shared.credentials import digest_of, matches, new_credential
from shared.envelope import Envelope, MalformedMessage


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


@dataclass(frozen=True)
class Placement:
    """The order a placement left: ``replayed`` when an earlier request with the same
    idempotency key placed it. ``access_token`` lets its customer read, follow and cancel it;
    only the placement that created the order has it (the service keeps only its SHA-256)."""

    order: OrderView
    replayed: bool
    access_token: str | None = None


class OrderService:
    """Every use case of the orders service, on an event store and catalogue prices."""

    def __init__(self, store: EventStore, catalogue: Catalogue, *, max_attempts: int = 5) -> None:
        self.store = store
        self.catalogue = catalogue
        self.max_attempts = max_attempts

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
        recorded = self.history(order_id)
        return _view(wire.domain_history(recorded), recorded)

    def holds_access(self, order_id: str, access_token: str) -> bool:
        """Whether ``access_token`` is the one the order's placement handed out. Takes as long
        for an order that does not exist, so the answer cannot tell the two apart; an id this
        service never hands out (not a UUID) is not even looked up."""
        digest = self.store.access_digest(order_id) if _is_order_id(order_id) else None
        return matches(access_token, digest)

    # commands

    def place(
        self,
        command: PlaceOrder,
        *,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> Placement:
        """Place an order priced from the catalogue, with a new access token for its customer
        (its digest stored with the order). With ``idempotency_key`` the key is stored with the
        order in the same transaction; the same key with the same ``fingerprint`` answers the
        order as that placement left it (without the token), with another fingerprint raises
        ``IdempotencyKeyReused``. Raises ``InvalidOrder`` for a command that breaks a rule."""
        if idempotency_key is not None:
            earlier = self._placed_with(idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        decision = decide(
            command, OrderState(), catalogue=self.catalogue.prices_in(command.currency)
        )
        new_events, outbox = wire.records_of(
            command.order_id, decision, cause_id=_request_id(idempotency_key)
        )
        key = (
            None
            if idempotency_key is None
            else IdempotencyKey(idempotency_key, fingerprint, command.order_id)
        )
        access_token = new_credential()
        try:
            recorded = self.store.append(
                command.order_id,
                0,
                new_events,
                outbox,
                idempotency_key=key,
                access_digest=digest_of(access_token),
            )
        except IdempotencyKeyTaken as taken:
            # a placement with this key committed after the check above
            earlier = self._placed_with(taken.key, fingerprint)
            if earlier is None:
                raise
            return earlier
        return Placement(_view(_events_of(decision), recorded), False, access_token)

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
        received = wire.read_reply(envelope)
        order_id = envelope.correlation_id
        attempt = 0
        while True:
            attempt += 1
            recorded = self.history(order_id)
            if any(event.event_id == envelope.event_id for event in recorded):
                return
            state = fold(wire.domain_history(recorded))
            decision = decide(received.reply, state)
            new_events, outbox = wire.records_of(
                order_id, decision, cause_id=envelope.event_id, reply=received
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
            history = wire.domain_history(recorded)
            state = fold(history)
            if expected_version is not None and expected_version != state.version:
                raise ConcurrencyError(command.order_id, expected_version, state.version)
            decision = decide(command, state)
            if not decision:
                return _view(history, recorded)
            new_events, outbox = wire.records_of(command.order_id, decision, cause_id=uuid.uuid4())
            try:
                appended = self.store.append(command.order_id, state.version, new_events, outbox)
                return _view([*history, *_events_of(decision)], [*recorded, *appended])
            except ConcurrencyError:
                if expected_version is not None or attempt == self.max_attempts:
                    raise
                _back_off(attempt)

    def _placed_with(self, idempotency_key: str, fingerprint: str) -> Placement | None:
        """The order an earlier placement with this key left (the events it recorded)."""
        stored = self.store.idempotency_key(idempotency_key)
        if stored is None:
            return None
        if stored.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused(idempotency_key)
        request_id = str(_request_id(idempotency_key))
        placed = [
            event
            for event in self.history(stored.order_id)
            if event.metadata.get("causation_id") == request_id
        ]
        return Placement(_view(wire.domain_history(placed), placed), replayed=True)


def _events_of(decision: Decision) -> list[domain.Event]:
    """The events of a decision, in the order they are appended (payment commands are sent)."""
    return [record for record in decision if not isinstance(record, domain.PaymentCommand)]


def _view(history: Sequence[domain.Event], recorded: Sequence[RecordedEvent]) -> OrderView:
    """The view of an order from its events (``history``) and their records."""
    placed = history[0]
    if not isinstance(placed, domain.OrderPlaced):
        raise MalformedMessage(f"stream {recorded[0].stream_id!r} does not start with OrderPlaced")
    return OrderView(
        state=fold(history),
        placed=placed,
        placed_at=recorded[0].recorded_at,
        updated_at=recorded[-1].recorded_at,
    )


def _is_order_id(text: str) -> bool:
    """Whether ``text`` is an order id as ``new_order_id`` makes them (a canonical UUID)."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _request_id(idempotency_key: str | None) -> uuid.UUID:
    """The causation id of a placement: stable for an idempotency key, else fresh."""
    if idempotency_key is None:
        return uuid.uuid4()
    return uuid.uuid5(uuid.NAMESPACE_URL, f"orders:idempotency-key:{idempotency_key}")


CONFLICT_BACKOFF = Backoff(0.01, 0.1)
"""Between retries of a command that lost a race for its stream's version."""


def _back_off(attempt: int) -> None:
    time.sleep(CONFLICT_BACKOFF.delay_after(attempt))
