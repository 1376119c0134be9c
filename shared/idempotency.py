"""A SQL persistence layer for powertools idempotency (DynamoDB is not on the host emulator).

It keeps the contract of powertools' DynamoDB layer: a record is created only when none exists,
or the existing one has expired, or it is in progress past its in-progress expiry; otherwise
`IdempotencyItemAlreadyExistsError` carries the stored record so powertools can return the saved
response or report the call as in progress.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from shared.database import create_tables

metadata = MetaData()

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("id", String(256), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("expiry", BigInteger, nullable=False),
    Column("in_progress_expiry", BigInteger),
    Column("response_data", Text),
    Column("validation", String(128)),
)


class SqlPersistenceLayer(BasePersistenceLayer):
    def __init__(self, engine: Engine) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.engine = engine
        create_tables(metadata, engine)

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(idempotency_records).where(idempotency_records.c.id == idempotency_key)
            ).one_or_none()
        if row is None:
            raise IdempotencyItemNotFoundError
        return _to_record(row._mapping)

    def _put_record(self, data_record: DataRecord) -> None:
        values = {
            "id": data_record.idempotency_key,
            "status": data_record.status,
            "expiry": data_record.expiry_timestamp,
            "in_progress_expiry": data_record.in_progress_expiry_timestamp,
            "response_data": None,
            "validation": data_record.payload_hash if self.payload_validation_enabled else None,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(idempotency_records).values(values))
            return
        except IntegrityError:
            pass
        now = time.time()
        with self.engine.begin() as connection:
            replaced = connection.execute(
                update(idempotency_records)
                .where(idempotency_records.c.id == data_record.idempotency_key)
                .where(
                    or_(
                        idempotency_records.c.expiry < int(now),
                        and_(
                            idempotency_records.c.status == STATUS_CONSTANTS["INPROGRESS"],
                            idempotency_records.c.in_progress_expiry < int(now * 1000),
                        ),
                    )
                )
                .values(values)
            ).rowcount
        if replaced:
            return
        stored = self._get_record(data_record.idempotency_key)
        self._validate_payload(data_payload=data_record, stored_data_record=stored)
        self._save_to_cache(data_record=stored)
        raise IdempotencyItemAlreadyExistsError(old_data_record=stored)

    def _update_record(self, data_record: DataRecord) -> None:
        values: dict[str, Any] = {
            "status": data_record.status,
            "expiry": data_record.expiry_timestamp,
            "response_data": data_record.response_data,
        }
        if self.payload_validation_enabled:
            values["validation"] = data_record.payload_hash
        with self.engine.begin() as connection:
            connection.execute(
                update(idempotency_records)
                .where(idempotency_records.c.id == data_record.idempotency_key)
                .values(values)
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(idempotency_records).where(
                    idempotency_records.c.id == data_record.idempotency_key
                )
            )


def _to_record(row: Any) -> DataRecord:
    return DataRecord(
        idempotency_key=row["id"],
        status=row["status"],
        expiry_timestamp=row["expiry"],
        in_progress_expiry_timestamp=row["in_progress_expiry"],
        response_data=row["response_data"] or "",
        payload_hash=row["validation"] or "",
    )
