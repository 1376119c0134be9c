"""One bad event never stops the read model: an event whose data the summaries cannot hold is
set aside with its position and error, counted in CloudWatch, and the projector moves on;
``rebuild-projections`` retries it once its cause is fixed. The failures are real ones of the
database (a value out of range, a NUL character in a PostgreSQL text column, a constraint)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from services.orders import bootstrap
from services.orders.adapters.set_aside import SetAsideEvent
from services.orders.adapters.summaries import OrderSummaries
from services.orders.adapters.tables import events_table, projection_positions_table
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.ports import NewEvent
from services.orders.public import (
    METRICS_NAMESPACE,
    PROJECTION_EVENTS_SET_ASIDE,
    SERVICE_DIMENSION,
)
from services.orders.service import OrderService
from services.orders.settings import ProjectorSettings
from shared.settings import AwsSettings
from shared.tests.polling import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
NO_WAIT = timedelta(0)
FAST = ProjectorSettings(poll_interval_seconds=0.05, gap_timeout_seconds=0)


@pytest.fixture
def orders_database_url(own_database_url: str) -> str:
    """A database of this test alone: a rebuild empties the read model, and the set-aside
    events of other tests would show in its list."""
    return own_database_url


def _place(service: OrderService, email: str = "ada@example.com") -> str:
    command = PlaceOrder(
        order_id=service.new_order_id(),
        customer_email=email,
        shipping_country="DE",
        currency="EUR",
        lines=(LineRequest("MUG-001", 1),),
        payment_token="tok_approve",
    )
    return service.place(command).order.order_id


def _unstorable_order(service: OrderService, *, amount: int = 2**63, email: str = "") -> str:
    """An OrderPlaced its contract accepts but no summary row can hold: a total beyond the
    64-bit column (SQLite and PostgreSQL), or an e-mail PostgreSQL cannot store in text."""
    order_id = service.new_order_id()
    payload = {
        "order_id": order_id,
        "customer_email": email or "ada@example.com",
        "shipping_country": "DE",
        "lines": [
            {"sku": "MUG-001", "quantity": 1, "unit_price": {"amount": 1, "currency": "EUR"}}
        ],
        "total": {"amount": amount, "currency": "EUR"},
    }
    service.store.append(order_id, 0, [NewEvent(type="OrderPlaced", payload=payload)])
    return order_id


def _listed(summaries: OrderSummaries) -> set[str]:
    return {summary.order_id for summary in summaries.page(limit=100).items}


def _set_aside(summaries: OrderSummaries) -> dict[str, SetAsideEvent]:
    return {event.stream_id: event for event in summaries.set_aside_events().events}


@pytest.fixture
def running_projector(orders: bootstrap.Orders, localstack: Any) -> Iterator[bootstrap.Orders]:
    """The projector from the composition root, in a thread, counting into LocalStack."""
    aws = AwsSettings(aws_endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    with _running(orders, aws):
        yield orders


@contextmanager
def _running(orders: bootstrap.Orders, aws: AwsSettings) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=bootstrap.projector(orders, aws, FAST).run, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def _events_set_aside_counted(cloudwatch: Any, since: datetime) -> float:
    statistics = cloudwatch.get_metric_statistics(
        Namespace=METRICS_NAMESPACE,
        MetricName=PROJECTION_EVENTS_SET_ASIDE,
        Dimensions=[SERVICE_DIMENSION],
        StartTime=since,
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in statistics["Datapoints"]))


def test_an_event_out_of_range_is_set_aside_and_the_next_orders_appear(
    running_projector: bootstrap.Orders, localstack: Any
) -> None:
    orders = running_projector
    cloudwatch = localstack.client("cloudwatch")
    since = datetime.now(UTC) - timedelta(minutes=30)
    counted_before = _events_set_aside_counted(cloudwatch, since)
    first = _place(orders.service)
    eventually(lambda: first in _listed(orders.summaries), "the first order listed", 10)

    bad = _unstorable_order(orders.service)
    after = [_place(orders.service) for _ in range(3)]

    eventually(lambda: set(after) <= _listed(orders.summaries), "the next orders listed", 10)
    assert bad not in _listed(orders.summaries)
    set_aside = _set_aside(orders.summaries)[bad]
    [recorded] = orders.store.read_stream(bad)
    assert (set_aside.position, set_aside.event_type) == (recorded.position, "OrderPlaced")
    assert set_aside.event_id == str(recorded.event_id)
    assert set_aside.attempts == 1
    assert any(word in set_aside.error for word in ("out of range", "too large")), set_aside
    eventually(
        lambda: _events_set_aside_counted(cloudwatch, since) >= counted_before + 1,
        "ProjectionEventsSetAside counted in CloudWatch",
        30,
    )


def test_a_nul_character_postgresql_cannot_store_is_set_aside(
    running_projector: bootstrap.Orders,
) -> None:
    orders = running_projector
    if orders.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores NUL characters in text")
    bad = _unstorable_order(orders.service, amount=1299, email="a\u0000b@example.com")
    after = _place(orders.service)

    eventually(lambda: after in _listed(orders.summaries), "the next order listed", 10)
    set_aside = _set_aside(orders.summaries)[bad]
    assert set_aside.position == orders.store.read_stream(bad)[0].position
    assert "NUL" in set_aside.error
    assert "\x00" not in set_aside.error and "b@example.com" not in set_aside.error


def test_a_cloudwatch_outage_does_not_stop_the_projector(
    orders: bootstrap.Orders, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = AwsSettings(aws_endpoint_url="http://127.0.0.1:9", aws_max_attempts=1)
    with caplog.at_level(logging.WARNING), _running(orders, nowhere):
        bad = _unstorable_order(orders.service)
        after = _place(orders.service)
        eventually(lambda: after in _listed(orders.summaries), "the next order listed", 20)
        assert bad in _set_aside(orders.summaries)
        eventually(
            lambda: f"could not publish {PROJECTION_EVENTS_SET_ASIDE}=1" in caplog.text,
            "the lost count logged",
            20,
        )


def _refuse_summaries_of(engine: Engine, email: str) -> None:
    """A real constraint of the database that refuses the summary row of ``email``."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_marked BEFORE INSERT ON orders_summaries"
                f" WHEN NEW.customer_email = '{email}'"
                " BEGIN SELECT RAISE(ABORT, 'summary refused by a constraint'); END"
            )
        else:
            conn.exec_driver_sql(
                "ALTER TABLE orders_summaries ADD CONSTRAINT refuse_marked"
                f" CHECK (customer_email <> '{email}')"
            )


def _accept_summaries_again(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER refuse_marked")
        else:
            conn.exec_driver_sql("ALTER TABLE orders_summaries DROP CONSTRAINT refuse_marked")


def test_rebuild_projections_retries_the_set_aside_events(
    orders: bootstrap.Orders, orders_database_url: str
) -> None:
    refused_email = f"refused-{uuid.uuid4().hex[:8]}@example.com"
    _refuse_summaries_of(orders.engine, refused_email)
    refused = _place(orders.service, refused_email)
    out_of_range = _unstorable_order(orders.service)
    fine = _place(orders.service)

    projected = orders.summaries.catch_up(gap_timeout=NO_WAIT)

    assert {event.stream_id for event in projected.set_aside} == {refused, out_of_range}
    assert _listed(orders.summaries) == {fine}
    assert "constraint" in _set_aside(orders.summaries)[refused].error

    _accept_summaries_again(orders.engine)  # the cause of one of them is fixed
    env = {
        "PATH": os.environ["PATH"],
        "ORDERS_DATABASE_URL": orders_database_url,
    }
    rebuilt = subprocess.run(
        [sys.executable, "-m", "services.orders", "rebuild-projections"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "order summaries rebuilt from 3 events" in rebuilt.stdout
    position = orders.store.read_stream(out_of_range)[0].position
    assert f"still set aside: OrderPlaced at position {position}" in rebuilt.stdout
    assert "(attempt 2)" in rebuilt.stdout
    assert refused not in rebuilt.stdout
    assert _listed(orders.summaries) == {fine, refused}
    still = orders.summaries.set_aside_events()
    assert still.total == 1
    assert [(event.stream_id, event.attempts) for event in still.events] == [(out_of_range, 2)]


def test_projecting_again_clears_what_is_stored_now_and_counts_what_is_not(
    orders: bootstrap.Orders,
) -> None:
    """Set-aside records are per projection: a projection of its own (as the API tests use)
    leaves the main one's alone."""
    with orders.engine.begin() as conn:
        head = conn.execute(select(func.coalesce(func.max(events_table.c.position), 0))).scalar()
        conn.execute(
            insert(projection_positions_table).values(
                name="mine", position=head, updated_at=datetime.now(UTC)
            )
        )
    bad = _unstorable_order(orders.service)

    mine = orders.summaries.catch_up(name="mine", gap_timeout=NO_WAIT)
    main = orders.summaries.catch_up(gap_timeout=NO_WAIT)

    assert [event.projection for event in mine.set_aside] == ["mine"]
    assert [event.projection for event in main.set_aside] == ["order_summaries"]
    listed = orders.summaries.set_aside_events()
    assert listed.total == 2
    assert {(event.projection, event.stream_id) for event in listed.events} == {
        ("mine", bad),
        ("order_summaries", bad),
    }
    again = orders.summaries.rebuild(gap_timeout=NO_WAIT)
    assert [(event.projection, event.attempts) for event in again.set_aside] == [
        ("order_summaries", 2)
    ]
