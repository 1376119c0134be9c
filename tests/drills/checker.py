"""Nothing lost, nothing done twice: the invariants of the shop, read from every service's own
store (never through the API).

The checker is test code: it knows each store's tables (the services' adapters define them) and
reads them with SQL of its own. ``check`` returns the violations for a set of orders; the
whole-store invariants (stock totals, dead letters, the outbox) cover everything in the stores.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, text

FINAL_STATE = "every accepted order reaches a final state"
STOCK = "stock reserved equals the stock of confirmed orders"
PAYMENTS = "every authorization captured or voided exactly once"
EMAILS = "one e-mail per order per kind"
ANALYTICS = "analytics counts each order once"
DEAD_LETTERS = "no message in a dead-letter queue but the injected poison"
OUTBOX = "an empty outbox"
STORES_READABLE = "every store readable"
INVARIANTS = (FINAL_STATE, STOCK, PAYMENTS, EMAILS, ANALYTICS, DEAD_LETTERS, OUTBOX)

FINAL_EVENTS = {"OrderConfirmed": "confirmed", "OrderCancelled": "cancelled"}
SETTLING_EVENTS = ("PaymentCaptured", "PaymentVoided")


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


class Stores:
    """Engines on each service's database and the stack's dead-letter queues."""

    def __init__(self, databases: Mapping[str, str], sqs: Any, dead_letter_urls: Sequence[str]):
        self.engines: dict[str, Engine] = {
            service: create_engine(url, pool_pre_ping=True) for service, url in databases.items()
        }
        self.sqs = sqs
        self.dead_letter_urls = list(dead_letter_urls)

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def rows(
        self,
        service: str,
        sql: str,
        order_ids: Sequence[str] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Rows of ``sql`` on ``service``'s database; ``:ids`` expands to ``order_ids``."""
        statement = text(sql)
        with self.engines[service].connect() as connection:
            if order_ids is None:
                return list(connection.execute(statement, dict(parameters or {})).all())
            statement = statement.bindparams(bindparam("ids", expanding=True))
            found: list[Any] = []
            for start in range(0, len(order_ids), 500):
                chunk = list(order_ids[start : start + 500])
                found += connection.execute(statement, {"ids": chunk}).all()
            return found

    def statuses(self, order_ids: Sequence[str]) -> dict[str, str]:
        """``confirmed`` or ``cancelled`` per order that reached its final event (event store)."""
        return {
            order_id: FINAL_EVENTS[event_type]
            for order_id, event_type in self.rows(
                "orders",
                "SELECT stream_id, type FROM events WHERE stream_id IN :ids"
                " AND type IN ('OrderConfirmed', 'OrderCancelled')",
                order_ids,
            )
        }

    def dead_letters(self) -> dict[str, list[str]]:
        """The bodies in each dead-letter queue, looked at without consuming them."""
        held: dict[str, list[str]] = {}
        for url in self.dead_letter_urls:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if not any(int(value) for value in attributes.values()):
                continue
            bodies: dict[str, str] = {}
            for _ in range(10):
                received = self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
                ).get("Messages", [])
                bodies |= {message["MessageId"]: message["Body"] for message in received}
                if len(bodies) >= int(attributes["ApproximateNumberOfMessages"]):
                    break
            held[url] = list(bodies.values()) or ["(in flight)"]
        return held


def check(stores: Stores, order_ids: Sequence[str], poison: str | None = None) -> list[Violation]:
    """Every invariant for ``order_ids`` (orders the drill saw accepted) and the whole stores;
    ``poison``: the marker of the injected poison messages, the only dead letters allowed."""
    statuses = stores.statuses(order_ids)
    return [
        *_final_states(order_ids, statuses),
        *_stock(stores, order_ids, statuses),
        *_payments(stores, order_ids, statuses),
        *_emails(stores, order_ids, statuses),
        *_analytics(stores, order_ids, statuses),
        *_dead_letters(stores, poison),
        *_outbox(stores),
    ]


def _final_states(order_ids: Sequence[str], statuses: Mapping[str, str]) -> Iterable[Violation]:
    for order_id in order_ids:
        if order_id not in statuses:
            yield Violation(FINAL_STATE, f"order {order_id} is not confirmed or cancelled")


def _stock(
    stores: Stores, order_ids: Sequence[str], statuses: Mapping[str, str]
) -> Iterable[Violation]:
    reserved_by_sku: Counter[str] = Counter()
    for (quantities,) in stores.rows(
        "inventory", "SELECT quantities FROM inventory_reservations WHERE status = 'reserved'"
    ):
        reserved_by_sku.update(_json(quantities))
    for sku, reserved in stores.rows("inventory", "SELECT sku, reserved FROM inventory_stock"):
        if reserved != reserved_by_sku.get(sku, 0):
            yield Violation(
                STOCK,
                f"{sku}: {reserved} reserved in stock, {reserved_by_sku.get(sku, 0)} in"
                " reservations",
            )
    reservations = dict(
        stores.rows(
            "inventory",
            "SELECT order_id, status FROM inventory_reservations WHERE order_id IN :ids",
            order_ids,
        )
    )
    for order_id, status in statuses.items():
        holds = reservations.get(order_id) == "reserved"
        if (status == "confirmed") != holds:
            yield Violation(
                STOCK,
                f"{status} order {order_id} has reservation {reservations.get(order_id)}",
            )


def _payments(
    stores: Stores, order_ids: Sequence[str], statuses: Mapping[str, str]
) -> Iterable[Violation]:
    authorizations = dict(
        stores.rows(
            "payments",
            "SELECT order_id, status FROM payments_authorizations WHERE order_id IN :ids",
            order_ids,
        )
    )
    settled: Counter[tuple[str, str]] = Counter(
        (order_id, result)
        for order_id, result in stores.rows(
            "payments",
            "SELECT order_id, result FROM payments_operations WHERE order_id IN :ids"
            " AND result IN ('captured', 'voided')",
            order_ids,
        )
    )
    for (order_id, result), times in settled.items():
        if times > 1:
            yield Violation(PAYMENTS, f"order {order_id} {result} {times} times")
    for order_id, status in statuses.items():
        authorization = authorizations.get(order_id)
        if authorization in (None, "declined"):
            if status == "confirmed":
                yield Violation(PAYMENTS, f"confirmed order {order_id} has no authorization")
            continue
        wanted = "captured" if status == "confirmed" else "voided"
        if authorization != wanted or settled[(order_id, wanted)] != 1:
            yield Violation(
                PAYMENTS,
                f"{status} order {order_id}: authorization {authorization},"
                f" {settled[(order_id, wanted)]} {wanted} operation(s)",
            )


def _emails(
    stores: Stores, order_ids: Sequence[str], statuses: Mapping[str, str]
) -> Iterable[Violation]:
    sent = Counter(
        (order_id, event_type)
        for order_id, event_type in stores.rows(
            "email", "SELECT order_id, event_type FROM email_sent WHERE order_id IN :ids", order_ids
        )
    )
    for order_id, status in statuses.items():
        final_kind = "OrderConfirmed" if status == "confirmed" else "OrderCancelled"
        for kind in ("OrderPlaced", final_kind):
            if sent[(order_id, kind)] != 1:
                yield Violation(
                    EMAILS, f"order {order_id}: {sent[(order_id, kind)]} {kind} e-mails"
                )
    for (order_id, kind), times in sent.items():
        if order_id not in statuses and times > 1:
            yield Violation(EMAILS, f"order {order_id}: {times} {kind} e-mails")


def _analytics(
    stores: Stores, order_ids: Sequence[str], statuses: Mapping[str, str]
) -> Iterable[Violation]:
    processed = Counter(
        (order_id, event_type)
        for order_id, event_type in stores.rows(
            "analytics",
            "SELECT order_id, event_type FROM analytics_processed_events WHERE order_id IN :ids"
            # once per order; LateReplyIgnored comes once per late reply
            " AND event_type IN ('OrderPlaced', 'OrderConfirmed', 'OrderCancelled')",
            order_ids,
        )
    )
    for (order_id, kind), times in processed.items():
        if times > 1:
            yield Violation(ANALYTICS, f"order {order_id}: {kind} counted {times} times")
    for order_id, status in statuses.items():
        final_kind = "OrderConfirmed" if status == "confirmed" else "OrderCancelled"
        for kind in ("OrderPlaced", final_kind):
            if processed[(order_id, kind)] == 0:
                yield Violation(ANALYTICS, f"order {order_id}: {kind} never counted")
    ((placed,),) = stores.rows(
        "analytics", "SELECT COALESCE(SUM(placed), 0) FROM analytics_minutes"
    )
    ((orders,),) = stores.rows(
        "analytics",
        "SELECT COUNT(*) FROM analytics_processed_events WHERE event_type = 'OrderPlaced'",
    )
    if placed != orders:
        yield Violation(ANALYTICS, f"{placed} placements counted for {orders} orders")


def _dead_letters(stores: Stores, poison: str | None) -> Iterable[Violation]:
    for url, bodies in stores.dead_letters().items():
        unexpected = [body for body in bodies if poison is None or poison not in body]
        if unexpected:
            yield Violation(
                DEAD_LETTERS,
                f"{url.rsplit('/', 1)[1]} holds {len(unexpected)}: {unexpected[0][:160]}",
            )


def _outbox(stores: Stores) -> Iterable[Violation]:
    ((unsent,),) = stores.rows("orders", "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
    if unsent:
        yield Violation(OUTBOX, f"{unsent} record(s) not published")


def _json(value: Any) -> dict[str, int]:
    decoded: dict[str, int] = json.loads(value) if isinstance(value, str) else value
    return decoded
