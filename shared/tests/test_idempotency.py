"""The SQL idempotency layer keeps powertools' contract on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import (
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from sqlalchemy import Engine, create_engine, delete

from shared.idempotency import SqlPersistenceLayer, idempotency_records

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def event_id(engine: Engine) -> Iterator[str]:
    event_id = str(uuid.uuid4())
    yield event_id
    digest = hashlib.md5(json.dumps(event_id).encode(), usedforsecurity=False).hexdigest()
    stored_key_suffix = f"#{digest}"
    with engine.begin() as connection:
        connection.execute(
            delete(idempotency_records).where(idempotency_records.c.id.endswith(stored_key_suffix))
        )


def idempotent_counter(engine: Engine, expires_after_seconds: int = 3600) -> tuple[Any, list[str]]:
    calls: list[str] = []
    persistence = SqlPersistenceLayer(engine)
    config = IdempotencyConfig(
        event_key_jmespath="event_id",
        expires_after_seconds=expires_after_seconds,
        use_local_cache=False,
    )

    def handle(message: dict[str, str]) -> dict[str, str]:
        calls.append(message["event_id"])
        if message.get("fail"):
            raise RuntimeError("transient failure")
        return {"handled": message["event_id"]}

    once = idempotent_function(
        handle, data_keyword_argument="message", persistence_store=persistence, config=config
    )
    return once, calls


def test_second_delivery_returns_the_saved_result_without_running(
    engine: Engine, event_id: str
) -> None:
    handle, calls = idempotent_counter(engine)
    first = handle(message={"event_id": event_id})
    second = handle(message={"event_id": event_id})
    assert first == second == {"handled": event_id}
    assert calls == [event_id]


def test_a_failed_run_leaves_no_record_so_the_retry_runs(engine: Engine, event_id: str) -> None:
    handle, calls = idempotent_counter(engine)
    with pytest.raises(RuntimeError):
        handle(message={"event_id": event_id, "fail": "yes"})
    handle(message={"event_id": event_id})
    assert calls == [event_id, event_id]


def test_an_expired_record_lets_the_message_run_again(engine: Engine, event_id: str) -> None:
    handle, calls = idempotent_counter(engine, expires_after_seconds=-1)
    handle(message={"event_id": event_id})
    handle(message={"event_id": event_id})
    assert calls == [event_id, event_id]


def test_a_delivery_in_progress_elsewhere_is_reported_not_run(
    engine: Engine, event_id: str
) -> None:
    started, release = threading.Event(), threading.Event()
    persistence = SqlPersistenceLayer(engine)
    config = IdempotencyConfig(event_key_jmespath="event_id", use_local_cache=False)

    def run_slowly(message: dict[str, str]) -> str:
        started.set()
        release.wait(10)
        return "done"

    slow = idempotent_function(
        run_slowly, data_keyword_argument="message", persistence_store=persistence, config=config
    )

    worker = threading.Thread(target=slow, kwargs={"message": {"event_id": event_id}})
    worker.start()
    try:
        assert started.wait(10)
        with pytest.raises(IdempotencyAlreadyInProgressError):
            slow(message={"event_id": event_id})
    finally:
        release.set()
        worker.join()
