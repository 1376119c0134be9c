"""The analytics service's own tables (prefix ``analytics_``) and their exactly-once updates.

An event's increments are applied in the same transaction that records its id in
``analytics_processed_events``: a second delivery finds the id and changes nothing, even
after the idempotency record of powertools has expired.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)

from services.analytics.domain import (
    Figures,
    KnownOrder,
    MinuteFigures,
    OrderEvent,
    SkuFigures,
    Tally,
    tally,
)
from shared.database import upsert_insert

metadata = MetaData()

processed_events = Table(
    "analytics_processed_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(64), nullable=False),
    Column("order_id", String(200), nullable=False, index=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)

orders = Table(
    "analytics_orders",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),
)

minutes = Table(
    "analytics_minutes",
    metadata,
    Column("minute", BigInteger, primary_key=True, comment="UTC epoch seconds of the minute"),
    Column("currency", String(3), primary_key=True),
    Column("placed", Integer, nullable=False, default=0),
    Column("placed_value", BigInteger, nullable=False, default=0),
    Column("confirmed", Integer, nullable=False, default=0),
    Column("revenue", BigInteger, nullable=False, default=0),
    Column("cancelled", Integer, nullable=False, default=0),
)

skus = Table(
    "analytics_skus",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("units", BigInteger, nullable=False, default=0),
    Column("orders", Integer, nullable=False, default=0),
    Column("revenue", BigInteger, nullable=False, default=0),
)

cancellations = Table(
    "analytics_cancellations",
    metadata,
    Column("reason", String(120), primary_key=True),
    Column("occurrences", Integer, nullable=False, default=0),
)

event_counts = Table(
    "analytics_event_counts",
    metadata,
    Column("event_type", String(64), primary_key=True),
    Column("occurrences", Integer, nullable=False, default=0),
)


class SqlAggregates:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = upsert_insert(engine)

    def record(self, event: OrderEvent) -> Tally | None:
        """Apply the event once; its tally, or None when it was already counted."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                self._insert(processed_events)
                .values(
                    event_id=event.event_id,
                    event_type=event.event_type,
                    order_id=event.order_id,
                    processed_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(processed_events.c.event_id)
            ).first()
            if claimed is None:
                return None
            known = self._known_order(connection, event.order_id)
            result = tally(event.event_type, event.occurred_at, event.fact, known)
            self._apply(connection, result)
            return result

    def figures(self, since: datetime) -> Figures:
        """Per-minute rows from ``since`` on, and the all-time aggregates."""
        with self.engine.connect() as connection:
            minute_rows = connection.execute(
                select(minutes).where(minutes.c.minute >= int(since.timestamp()))
            ).all()
            total_rows = connection.execute(
                select(
                    minutes.c.currency,
                    func.sum(minutes.c.placed),
                    func.sum(minutes.c.placed_value),
                    func.sum(minutes.c.confirmed),
                    func.sum(minutes.c.revenue),
                    func.sum(minutes.c.cancelled),
                ).group_by(minutes.c.currency)
            ).all()
            sku_rows = connection.execute(select(skus)).all()
            reasons = connection.execute(select(cancellations)).all()
            counts = connection.execute(select(event_counts)).all()
        epoch = datetime.fromtimestamp(0, UTC)
        return Figures(
            minutes=tuple(
                MinuteFigures(
                    datetime.fromtimestamp(row.minute, UTC),
                    row.currency,
                    row.placed,
                    row.placed_value,
                    row.confirmed,
                    row.revenue,
                    row.cancelled,
                )
                for row in minute_rows
            ),
            totals=tuple(
                MinuteFigures(epoch, currency, *(int(value or 0) for value in sums))
                for currency, *sums in total_rows
            ),
            skus=tuple(
                SkuFigures(row.sku, row.currency, row.units, row.orders, row.revenue)
                for row in sku_rows
            ),
            cancellations={row.reason: row.occurrences for row in reasons},
            event_counts={row.event_type: row.occurrences for row in counts},
        )

    def _known_order(self, connection: Connection, order_id: str) -> KnownOrder | None:
        row = connection.execute(
            select(orders.c.currency, orders.c.total).where(orders.c.order_id == order_id)
        ).one_or_none()
        return KnownOrder(order_id, row.currency, row.total) if row else None

    def _apply(self, connection: Connection, result: Tally) -> None:
        self._add(connection, event_counts, {"event_type": result.event_type}, {"occurrences": 1})
        if result.new_order is not None:
            connection.execute(
                self._insert(orders)
                .values(
                    order_id=result.new_order.order_id,
                    currency=result.new_order.currency,
                    total=result.new_order.total,
                )
                .on_conflict_do_nothing(index_elements=["order_id"])
            )
        increments = {
            "placed": result.placed,
            "placed_value": result.placed_value,
            "confirmed": result.confirmed,
            "revenue": result.revenue,
            "cancelled": result.cancelled,
        }
        if any(increments.values()):
            self._add(
                connection,
                minutes,
                {"minute": int(result.minute.timestamp()), "currency": result.currency},
                increments,
            )
        for sale in result.sku_sales:
            self._add(
                connection,
                skus,
                {"sku": sale.sku, "currency": sale.currency},
                {"units": sale.units, "orders": 1, "revenue": sale.revenue},
            )
        if result.cancellation_reason is not None:
            self._add(
                connection,
                cancellations,
                {"reason": result.cancellation_reason},
                {"occurrences": 1},
            )

    def _add(
        self, connection: Connection, table: Table, key: dict[str, Any], amounts: dict[str, int]
    ) -> None:
        """Insert the row or add ``amounts`` to it, atomically."""
        statement = self._insert(table).values(**key, **amounts)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=list(key),
                set_={name: table.c[name] + statement.excluded[name] for name in amounts},
            )
        )
