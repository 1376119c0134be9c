"""The fraud service's own table: one verdict per screened OrderPlaced event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from services.fraud.service import StoredVerdict
from shared.envelope import Envelope

metadata = MetaData()

fraud_verdicts = Table(
    "fraud_verdicts",
    metadata,
    Column("event_id", String(36), primary_key=True, comment="the screened OrderPlaced"),
    Column("order_id", String(200), nullable=False, index=True),
    Column("verdict", String(64), nullable=False),
    Column("score", Integer, nullable=False),
    Column("verdict_event", Text, nullable=False, comment="the reply envelope, as published"),
    Column("published", Boolean, nullable=False, default=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)


class SqlVerdicts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(self, event_id: uuid.UUID) -> StoredVerdict | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(fraud_verdicts.c.verdict_event, fraud_verdicts.c.published).where(
                    fraud_verdicts.c.event_id == str(event_id)
                )
            ).one_or_none()
        if row is None:
            return None
        return StoredVerdict(Envelope.model_validate_json(row.verdict_event), bool(row.published))

    def record(self, cause: Envelope, verdict: Envelope, score: int) -> StoredVerdict:
        """Keep the verdict unless one is already recorded for ``cause``; the kept one."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(fraud_verdicts).values(
                        event_id=str(cause.event_id),
                        order_id=cause.correlation_id,
                        verdict=verdict.type,
                        score=score,
                        verdict_event=verdict.to_json(),
                        published=False,
                        decided_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            existing = self.find(cause.event_id)
            if existing is None:
                raise
            return existing
        return StoredVerdict(verdict, published=False)

    def mark_published(self, event_id: uuid.UUID) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(fraud_verdicts)
                .where(fraud_verdicts.c.event_id == str(event_id))
                .values(published=True)
            )
