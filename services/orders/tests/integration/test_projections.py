"""The order summary projector: rows follow the log, each event applied exactly once, a
rebuild gives the same rows, and a position that commits late is not skipped."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text

from services.orders.adapters import summaries as read_model
from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.summaries import OrderSummaries
from services.orders.adapters.tables import (
    events_table,
    projection_positions_table,
    summaries_table,
)
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.ports import NewEvent
from services.orders.projector import Projector
from services.orders.service import OrderService
from shared.contracts import (
    FraudCheckPassed,
    InventoryReserved,
    Money,
    OrderFlaggedForReview,
    PaymentAuthorized,
    envelope_for,
)

pytestmark = pytest.mark.integration

NO_WAIT = timedelta(0)


@pytest.fixture
def orders_database_url(own_database_url: str) -> str:
    """A database of this test alone: its summaries table is the only one, and another test's
    projector (or rebuild) would write or empty this test's rows in a shared one."""
    return own_database_url


@pytest.fixture
def summaries(engine: Engine) -> OrderSummaries:
    return OrderSummaries(engine)


@pytest.fixture
def projection(engine: Engine) -> str:
    """A projector of its own, starting at the head of the log."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        head = conn.execute(select(func.coalesce(func.max(events_table.c.position), 0))).scalar()
        conn.execute(
            insert(projection_positions_table).values(
                name=name, position=head, updated_at=datetime.now(UTC)
            )
        )
    return name


def _place(service: OrderService, quantity: int = 2) -> str:
    command = PlaceOrder(
        order_id=service.new_order_id(),
        customer_email="grace@example.com",
        shipping_country="FR",
        currency="EUR",
        lines=(LineRequest("MUG-001", quantity), LineRequest("STICK-004", 1)),
        payment_token="tok_approve",
    )
    return service.place(command).order.order_id


def _row(engine: Engine, order_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(summaries_table).where(summaries_table.c.order_id == order_id)
        ).one_or_none()
    return None if row is None else dict(row._mapping)


def _rows(engine: Engine, order_ids: list[str]) -> list[dict[str, Any]]:
    return [row for order_id in order_ids if (row := _row(engine, order_id)) is not None]


def _authorized(order_id: str) -> Any:
    return envelope_for(
        PaymentAuthorized(
            order_id=order_id, authorization_id="auth-9", amount=Money(amount=3097, currency="EUR")
        )
    )


def test_summaries_follow_the_log_and_the_tracking_position_moves(
    service: OrderService, engine: Engine, projection: str, summaries: OrderSummaries
) -> None:
    order_id = _place(service)
    assert summaries.project_pending(name=projection, gap_timeout=NO_WAIT).events >= 1

    placed = _row(engine, order_id)
    assert placed is not None
    assert placed["status"] == "awaiting_replies"
    assert (placed["total_amount"], placed["currency"]) == (2 * 1299 + 499, "EUR")
    assert placed["item_count"] == 3
    assert (placed["customer_email"], placed["shipping_country"]) == ("grace@example.com", "FR")
    assert placed["final_at"] is None
    [recorded] = service.store.read_stream(order_id)
    assert summaries.tracking_position(projection) >= recorded.position

    service.apply_reply(envelope_for(OrderFlaggedForReview(order_id=order_id, score=80)))
    summaries.catch_up(name=projection, gap_timeout=NO_WAIT)
    assert _row(engine, order_id)["status"] == "on_hold"  # type: ignore[index]

    service.apply_reply(envelope_for(InventoryReserved(order_id=order_id)))
    service.apply_reply(_authorized(order_id))
    service.review(order_id, approve=True, reviewer="ops")
    summaries.catch_up(name=projection, gap_timeout=NO_WAIT)

    confirmed = _row(engine, order_id)
    assert confirmed is not None
    last = service.store.read_stream(order_id)[-1]
    assert confirmed["status"] == "confirmed"
    assert confirmed["version"] == last.version
    assert confirmed["last_position"] == last.position
    assert confirmed["final_at"] is not None
    assert summaries.tracking_position(projection) >= last.position
    assert summaries.project_pending(name=projection, gap_timeout=NO_WAIT).events == 0


def test_a_failing_batch_changes_neither_rows_nor_position(
    service: OrderService,
    engine: Engine,
    projection: str,
    monkeypatch: pytest.MonkeyPatch,
    summaries: OrderSummaries,
) -> None:
    first, second = _place(service), _place(service)
    before = summaries.tracking_position(projection)
    real_apply = read_model._apply
    applied: list[int] = []

    def apply_then_fail(conn: Any, event: Any) -> None:
        if event.stream_id == second:
            raise RuntimeError("the projector dies halfway through the batch")
        real_apply(conn, event)
        applied.append(event.position)

    monkeypatch.setattr(read_model, "_apply", apply_then_fail)
    with pytest.raises(RuntimeError, match="halfway"):
        summaries.project_pending(name=projection, gap_timeout=NO_WAIT)

    assert applied  # the first order was applied inside the failed transaction...
    assert _rows(engine, [first, second]) == []  # ...and rolled back with it
    assert summaries.tracking_position(projection) == before

    monkeypatch.setattr(read_model, "_apply", real_apply)
    summaries.catch_up(name=projection, gap_timeout=NO_WAIT)
    assert [row["order_id"] for row in _rows(engine, [first, second])] == [first, second]


def test_concurrent_projectors_apply_each_event_once(
    service: OrderService, engine: Engine, projection: str, summaries: OrderSummaries
) -> None:
    start = summaries.tracking_position(projection)
    orders = [_place(service) for _ in range(6)]
    for order_id in orders:
        service.apply_reply(envelope_for(InventoryReserved(order_id=order_id)))
    counts: list[int] = []
    barrier = threading.Barrier(3)

    def project() -> None:
        barrier.wait()
        total = 0
        while applied := summaries.project_pending(
            name=projection, batch_size=2, gap_timeout=NO_WAIT
        ).events:
            total += applied
        counts.append(total)

    threads = [threading.Thread(target=project) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    end = summaries.tracking_position(projection)
    with engine.connect() as conn:
        in_range = conn.execute(
            select(func.count()).where(
                events_table.c.position > start, events_table.c.position <= end
            )
        ).scalar_one()
    # Each event at most once (on a shared PostgreSQL, other tests' late commits may be passed
    # over with NO_WAIT, so fewer is possible), and every event of these orders exactly once.
    assert sum(counts) <= in_range
    rows = _rows(engine, orders)
    assert len(rows) == len(orders)
    assert {row["version"] for row in rows} == {2}


def test_a_rebuild_gives_the_same_rows(
    service: OrderService, engine: Engine, summaries: OrderSummaries
) -> None:
    orders = [_place(service, quantity=n) for n in (1, 2, 3)]
    service.cancel(orders[0])
    service.apply_reply(envelope_for(FraudCheckPassed(order_id=orders[1])))
    summaries.catch_up(gap_timeout=NO_WAIT)
    projected = _rows(engine, orders)

    replayed = summaries.rebuild(gap_timeout=NO_WAIT).events

    assert replayed >= 5  # 3 placed, 1 cancelled, 1 verdict
    assert _rows(engine, orders) == projected
    assert len(projected) == 3
    assert summaries.tracking_position() >= service.store.read_stream(orders[-1])[-1].position


def test_events_it_cannot_read_are_skipped(
    engine: Engine, projection: str, summaries: OrderSummaries
) -> None:
    store = SqlEventStore(engine)
    stream = f"foreign-{uuid.uuid4()}"
    store.append(stream, 0, [NewEvent(type="OrderPlaced", payload={"n": 1})])
    store.append(stream, 1, [NewEvent(type="SomethingElse", payload={})])
    summaries.catch_up(name=projection, gap_timeout=NO_WAIT)
    assert _row(engine, stream) is None
    assert summaries.tracking_position(projection) >= store.read_stream(stream)[-1].position


def test_list_pages_newest_first_and_filters_by_status(
    service: OrderService, engine: Engine, summaries: OrderSummaries
) -> None:
    orders = [_place(service) for _ in range(3)]
    service.cancel(orders[2])
    summaries.catch_up(gap_timeout=NO_WAIT)

    seen: list[str] = []
    after = None
    while len(seen) < 200:
        page = summaries.page(limit=1, after=after)
        seen += [summary.order_id for summary in page.items]
        if page.next_cursor is None or set(orders) <= set(seen):
            break
        after = page.next_cursor
    assert [o for o in seen if o in orders] == orders[::-1]
    cancelled = summaries.page(status="cancelled", limit=100).items
    assert orders[2] in [s.order_id for s in cancelled]
    assert all(s.status == "cancelled" for s in cancelled)


def test_the_projector_keeps_up_until_stopped(
    service: OrderService, engine: Engine, summaries: OrderSummaries
) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=Projector(summaries, poll_interval=0.02).run, args=(stop,))
    thread.start()
    try:
        order_id = _place(service)
        deadline = datetime.now(UTC) + timedelta(seconds=15)
        while _row(engine, order_id) is None and datetime.now(UTC) < deadline:
            stop.wait(0.02)
        assert _row(engine, order_id) is not None
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


# --- gaps: PostgreSQL commits positions out of order ---------------------------------------


@pytest.fixture
def postgres(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): positions commit in order")
    return engine


def _raw_placed_row(stream_id: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "stream_id": stream_id,
        "version": 1,
        "type": "OrderPlaced",
        "schema_version": 1,
        "payload": {
            "order_id": stream_id,
            "customer_email": "late@example.com",
            "shipping_country": "DE",
            "lines": [
                {"sku": "MUG-001", "quantity": 1, "unit_price": {"amount": 1299, "currency": "EUR"}}
            ],
            "total": {"amount": 1299, "currency": "EUR"},
        },
        "metadata": {},
        "recorded_at": datetime.now(UTC),
    }


def test_a_position_that_commits_late_is_waited_for_not_skipped(
    postgres: Engine, service: OrderService, projection: str, summaries: OrderSummaries
) -> None:
    slow_order = str(uuid.uuid4())
    with postgres.connect() as slow:
        slow_transaction = slow.begin()
        slow_position = slow.execute(
            insert(events_table)
            .values(_raw_placed_row(slow_order))
            .returning(events_table.c.position)
        ).scalar_one()
        fast_order = _place(service)  # a higher position, committed first
        fast_position = service.store.read_stream(fast_order)[0].position
        assert fast_position > slow_position

        summaries.project_pending(name=projection, gap_timeout=timedelta(seconds=60))
        assert summaries.tracking_position(projection) < slow_position

        slow_transaction.commit()

    summaries.catch_up(name=projection, gap_timeout=NO_WAIT)
    assert summaries.tracking_position(projection) >= fast_position
    assert _row(postgres, slow_order) is not None
    assert _row(postgres, fast_order) is not None


def test_a_gap_left_by_a_rollback_is_passed_once_it_is_old(
    postgres: Engine, service: OrderService, projection: str, summaries: OrderSummaries
) -> None:
    with postgres.connect() as aborted, aborted.begin() as transaction:
        lost_position = aborted.execute(
            insert(events_table)
            .values(_raw_placed_row(str(uuid.uuid4())))
            .returning(events_table.c.position)
        ).scalar_one()
        transaction.rollback()
    after_gap = _place(service)
    after_position = service.store.read_stream(after_gap)[0].position

    summaries.catch_up(name=projection, gap_timeout=timedelta(seconds=60))
    assert summaries.tracking_position(projection) < lost_position  # may still fill: wait

    summaries.catch_up(name=projection, gap_timeout=NO_WAIT)  # the gap is old enough now
    assert summaries.tracking_position(projection) >= after_position
    assert _row(postgres, after_gap) is not None


def test_two_projectors_placing_the_same_order_at_once_do_not_collide(
    postgres: Engine, service: OrderService
) -> None:
    """A rebuild beside the running projector applies the same OrderPlaced twice at once: the
    second waits for the first's row and replaces it instead of failing on the key."""
    order_id = _place(service)
    placed = service.store.read_stream(order_id)[0]
    failures: list[BaseException] = []

    def apply_alongside() -> None:
        try:
            with postgres.begin() as conn:
                read_model._apply(conn, placed)
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    with postgres.connect() as first, first.begin():
        read_model._apply(first, placed)
        second = threading.Thread(target=apply_alongside)
        second.start()
        deadline = time.monotonic() + 10
        while not _waits_for_a_lock(postgres, "orders_summaries"):
            assert second.is_alive() and time.monotonic() < deadline, failures
            time.sleep(0.02)
    second.join(timeout=10)

    assert failures == []
    row = _row(postgres, order_id)
    assert row is not None and row["version"] == placed.version


def _waits_for_a_lock(engine: Engine, table: str) -> bool:
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query LIKE :table"
            ),
            {"table": f"%{table}%"},
        ).scalar_one()
    return bool(waiting)
