"""The operations log (SQL): who did which operator action (a redrive, ...), on what, with
which outcome, and when. Reviews are not here: they are events of the order they decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from services.orders.adapters.tables import operations_log_table, utc

OUTCOME_LENGTH = 1000
"""The length of the ``outcome`` column: longer outcomes are cut."""


@dataclass(frozen=True)
class OperatorAction:
    operator: str
    action: str
    target: str
    outcome: str
    recorded_at: datetime


class SqlOperationsLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, operator: str, action: str, target: str, outcome: str) -> OperatorAction:
        entry = OperatorAction(
            operator, action, target, outcome[:OUTCOME_LENGTH], datetime.now(UTC)
        )
        with self.engine.begin() as conn:
            conn.execute(insert(operations_log_table).values(**entry.__dict__))
        return entry

    def recent(self, limit: int = 50) -> list[OperatorAction]:
        """The latest ``limit`` actions, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(operations_log_table)
                .order_by(operations_log_table.c.position.desc())
                .limit(limit)
            ).all()
        return [
            OperatorAction(row.operator, row.action, row.target, row.outcome, utc(row.recorded_at))
            for row in rows
        ]
