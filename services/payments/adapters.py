"""Payments' own tables: one authorization per order, and a log of every command's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)

from services.payments.domain import (
    Authorization,
    AuthorizationStatus,
    Money,
    Operation,
    Outcome,
    Result,
)

metadata = MetaData()

payments_authorizations = Table(
    "payments_authorizations",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("authorization_id", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("decline_reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

payments_operations = Table(
    "payments_operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(200), nullable=False),
    Column("command_event_id", String(36), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("result", String(32), nullable=False),
    Column("attempt", Integer),
    Column("detail", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("payments_operations_by_order", "order_id", "operation"),
)

FAILED_ATTEMPTS = (Result.TRANSIENT_ERROR.value, Result.PERMANENT_ERROR.value)


class ConcurrentChange(RuntimeError):
    """The authorization changed since it was read; the command is handled again."""


@dataclass(frozen=True, slots=True)
class OperationRecord:
    order_id: str
    command_event_id: str
    operation: Operation
    result: Result
    attempt: int | None
    detail: str


class SqlLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def authorization(self, order_id: str) -> Authorization | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(payments_authorizations).where(
                    payments_authorizations.c.order_id == order_id
                )
            ).one_or_none()
        if row is None:
            return None
        return Authorization(
            order_id=row.order_id,
            authorization_id=row.authorization_id,
            status=AuthorizationStatus(row.status),
            amount=Money(row.amount, row.currency),
            decline_reason=row.decline_reason,
        )

    def failed_attempts(self, order_id: str, operation: Operation) -> int:
        """How many times the provider failed this operation for the order."""
        with self.engine.connect() as connection:
            count = connection.execute(
                select(func.count())
                .select_from(payments_operations)
                .where(payments_operations.c.order_id == order_id)
                .where(payments_operations.c.operation == operation.value)
                .where(payments_operations.c.result.in_(FAILED_ATTEMPTS))
            ).scalar_one()
        return int(count)

    def record_failure(
        self,
        order_id: str,
        command_event_id: str,
        operation: Operation,
        result: Result,
        attempt: int,
        detail: str,
    ) -> None:
        """Log a provider failure (committed on its own: the command itself is retried)."""
        with self.engine.begin() as connection:
            _log(connection, order_id, command_event_id, operation, result, attempt, detail)

    def apply(
        self,
        order_id: str,
        before: Authorization | None,
        outcome: Outcome,
        command_event_id: str,
        attempt: int | None = None,
    ) -> None:
        """Store the authorization after the command, if it changed, and log the outcome, in
        one transaction; ``ConcurrentChange`` if the authorization is no longer ``before``."""
        after = outcome.authorization
        with self.engine.begin() as connection:
            if after is not None and after != before:
                _save(connection, before, after)
            _log(
                connection,
                order_id,
                command_event_id,
                outcome.operation,
                outcome.result,
                attempt,
                outcome.detail,
            )

    def operations(self, order_id: str) -> list[OperationRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(payments_operations)
                .where(payments_operations.c.order_id == order_id)
                .order_by(payments_operations.c.id)
            )
            return [
                OperationRecord(
                    order_id=row.order_id,
                    command_event_id=row.command_event_id,
                    operation=Operation(row.operation),
                    result=Result(row.result),
                    attempt=row.attempt,
                    detail=row.detail,
                )
                for row in rows
            ]


def _save(connection: Connection, before: Authorization | None, after: Authorization) -> None:
    values: dict[str, Any] = {
        "authorization_id": after.authorization_id,
        "status": after.status.value,
        "amount": after.amount.amount,
        "currency": after.amount.currency,
        "decline_reason": after.decline_reason,
        "updated_at": datetime.now(UTC),
    }
    if before is None:
        connection.execute(
            insert(payments_authorizations).values(order_id=after.order_id, **values)
        )
        return
    changed = connection.execute(
        update(payments_authorizations)
        .where(payments_authorizations.c.order_id == after.order_id)
        .where(payments_authorizations.c.status == before.status.value)
        .values(values)
    ).rowcount
    if changed != 1:
        raise ConcurrentChange(f"authorization of {after.order_id} changed since it was read")


def _log(
    connection: Connection,
    order_id: str,
    command_event_id: str,
    operation: Operation,
    result: Result,
    attempt: int | None,
    detail: str,
) -> None:
    connection.execute(
        insert(payments_operations).values(
            order_id=order_id,
            command_event_id=command_event_id,
            operation=operation.value,
            result=result.value,
            attempt=attempt,
            detail=detail,
            recorded_at=datetime.now(UTC),
        )
    )
