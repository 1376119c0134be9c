"""The checker reports a violation of each invariant planted in the store that owns it (on the
drills' stack, after a run of orders without a fault), and nothing once it is removed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.drills import checker
from tests.drills.checker import Stores, check
from tests.drills.drills import Drills

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("drills")]


@pytest.fixture(scope="module")
def baseline(drills: Drills) -> list[str]:
    """Orders placed without a fault, every invariant holding."""
    row = drills.run("no fault", lambda _stream: None)
    assert not row.violations, row.violations
    return row.order_ids


@contextmanager
def planted(stores: Stores, service: str, plant: str, remove: str, **values: Any) -> Iterator[None]:
    with stores.engines[service].begin() as connection:
        connection.execute(text(plant), values)
    try:
        yield
    finally:
        with stores.engines[service].begin() as connection:
            connection.execute(text(remove), values)


def reported(
    stores: Stores, order_ids: list[str], invariant: str, poison: str | None = None
) -> list[str]:
    return [v.detail for v in check(stores, order_ids, poison) if v.invariant == invariant]


def confirmed(stores: Stores, order_ids: list[str]) -> str:
    return next(o for o, status in stores.statuses(order_ids).items() if status == "confirmed")


def test_an_order_without_a_final_event(stores: Stores, baseline: list[str]) -> None:
    order_id = str(uuid.uuid4())
    ((event_type, schema_version, payload, metadata),) = stores.rows(
        "orders",
        "SELECT type, schema_version, payload, metadata FROM events"
        " WHERE stream_id = :order_id AND type = 'OrderPlaced'",
        parameters={"order_id": baseline[0]},
    )
    placed = _decoded(payload) | {"order_id": order_id}
    assert not reported(stores, [*baseline], checker.FINAL_STATE)
    with planted(
        stores,
        "orders",
        "INSERT INTO events (event_id, stream_id, version, type, schema_version, payload,"
        " metadata, recorded_at) VALUES (:event_id, :order_id, 1, :type, :schema_version,"
        " :payload, :metadata, :now)",
        "DELETE FROM events WHERE stream_id = :order_id",
        event_id=str(uuid.uuid4()),
        order_id=order_id,
        type=event_type,
        schema_version=schema_version,
        payload=json.dumps(placed),
        metadata=json.dumps(_decoded(metadata)),
        now=datetime.now(UTC),
    ):
        assert reported(stores, [*baseline, order_id], checker.FINAL_STATE) == [
            f"order {order_id} is not confirmed or cancelled"
        ]
    assert not reported(stores, [*baseline], checker.FINAL_STATE)


def test_stock_reserved_twice(stores: Stores, baseline: list[str]) -> None:
    assert not reported(stores, baseline, checker.STOCK)
    with planted(
        stores,
        "inventory",
        "UPDATE inventory_stock SET reserved = reserved + 1 WHERE sku = 'MUG-001'",
        "UPDATE inventory_stock SET reserved = reserved - 1 WHERE sku = 'MUG-001'",
    ):
        assert reported(stores, baseline, checker.STOCK)
    assert not reported(stores, baseline, checker.STOCK)


def test_a_reservation_released_for_a_confirmed_order(stores: Stores, baseline: list[str]) -> None:
    order_id = confirmed(stores, baseline)
    with planted(
        stores,
        "inventory",
        "UPDATE inventory_reservations SET status = 'released' WHERE order_id = :order_id",
        "UPDATE inventory_reservations SET status = 'reserved' WHERE order_id = :order_id",
        order_id=order_id,
    ):
        assert any(order_id in detail for detail in reported(stores, baseline, checker.STOCK))
    assert not reported(stores, baseline, checker.STOCK)


def test_a_payment_captured_twice(stores: Stores, baseline: list[str]) -> None:
    order_id = confirmed(stores, baseline)
    assert not reported(stores, baseline, checker.PAYMENTS)
    with planted(
        stores,
        "payments",
        "INSERT INTO payments_operations (order_id, command_event_id, operation, result,"
        " detail, recorded_at) VALUES (:order_id, :marker, 'capture', 'captured', 'planted', :now)",
        "DELETE FROM payments_operations WHERE command_event_id = :marker",
        order_id=order_id,
        marker=str(uuid.uuid4()),
        now=datetime.now(UTC),
    ):
        assert f"order {order_id} captured 2 times" in reported(stores, baseline, checker.PAYMENTS)
    assert not reported(stores, baseline, checker.PAYMENTS)


def test_an_email_sent_twice(stores: Stores, baseline: list[str]) -> None:
    order_id = baseline[0]
    assert not reported(stores, baseline, checker.EMAILS)
    with planted(
        stores,
        "email",
        "INSERT INTO email_sent (event_id, order_id, event_type, recipient, message_id, sent_at)"
        " VALUES (:marker, :order_id, 'OrderPlaced', 'twice@drill.example.com', 'planted', :now)",
        "DELETE FROM email_sent WHERE event_id = :marker",
        order_id=order_id,
        marker=str(uuid.uuid4()),
        now=datetime.now(UTC),
    ):
        assert f"order {order_id}: 2 OrderPlaced e-mails" in reported(
            stores, baseline, checker.EMAILS
        )
    assert not reported(stores, baseline, checker.EMAILS)


def test_an_order_counted_twice_by_analytics(stores: Stores, baseline: list[str]) -> None:
    order_id = baseline[0]
    assert not reported(stores, baseline, checker.ANALYTICS)
    with planted(
        stores,
        "analytics",
        "INSERT INTO analytics_processed_events (event_id, event_type, order_id, processed_at)"
        " VALUES (:marker, 'OrderPlaced', :order_id, :now)",
        "DELETE FROM analytics_processed_events WHERE event_id = :marker",
        order_id=order_id,
        marker=str(uuid.uuid4()),
        now=datetime.now(UTC),
    ):
        assert f"order {order_id}: OrderPlaced counted 2 times" in reported(
            stores, baseline, checker.ANALYTICS
        )
    assert not reported(stores, baseline, checker.ANALYTICS)


def test_a_dead_letter_other_than_the_poison(
    stores: Stores, drills: Drills, baseline: list[str]
) -> None:
    marker = f"poison-{uuid.uuid4().hex}"
    url = stores.dead_letter_urls[0]
    assert not reported(stores, baseline, checker.DEAD_LETTERS)
    try:
        stores.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"poison": marker}))
        assert not reported(stores, baseline, checker.DEAD_LETTERS, poison=marker)
        stores.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order_id": baseline[0]}))
        assert reported(stores, baseline, checker.DEAD_LETTERS, poison=marker)
    finally:
        drills.purge_dead_letters()


def test_an_unpublished_outbox_record(stores: Stores, baseline: list[str]) -> None:
    assert not reported(stores, baseline, checker.OUTBOX)
    now = datetime.now(UTC)
    with planted(
        stores,
        "orders",
        # leased for an hour: the relay leaves it alone
        "INSERT INTO outbox (destination, message, created_at, locked_until, attempts)"
        " VALUES (:marker, '{}', :now, :leased, 0)",
        "DELETE FROM outbox WHERE destination = :marker",
        marker=f"drill-{uuid.uuid4().hex}",
        now=now,
        leased=now + timedelta(hours=1),
    ):
        assert reported(stores, baseline, checker.OUTBOX) == ["1 record(s) not published"]
    assert not reported(stores, baseline, checker.OUTBOX)


def _decoded(value: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return decoded
