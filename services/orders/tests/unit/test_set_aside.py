"""Which failures set an event aside (its data) and which fail the batch (the database), and
what of the error is kept."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)

from services.orders.adapters.set_aside import MAX_ERROR_LENGTH, cannot_store, describe


class DriverError(Exception):
    pass


def _wrapped(kind: type[DBAPIError], message: str) -> DBAPIError:
    return kind(
        "INSERT INTO orders_summaries ...", {"customer_email": "a\x00b"}, DriverError(message)
    )


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(DataError, "PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        _wrapped(IntegrityError, "new row violates check constraint"),
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        ValueError("bad value"),
        TypeError("bad type"),
    ],
    ids=repr,
)
def test_the_events_data_sets_it_aside(error: Exception) -> None:
    assert cannot_store(error)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(OperationalError, "server closed the connection unexpectedly"),
        _wrapped(InterfaceError, "connection already closed"),
        RuntimeError("the projector's own bug"),
    ],
    ids=repr,
)
def test_a_failure_of_the_database_fails_the_batch(error: Exception) -> None:
    assert not cannot_store(error)


def test_the_error_keeps_its_type_and_first_line_without_the_data() -> None:
    error = _wrapped(IntegrityError, "new row violates check constraint\nDETAIL: Failing row (a@b)")
    assert describe(error) == "DriverError: new row violates check constraint"


def test_the_error_is_printable_and_bounded() -> None:
    assert describe(ValueError("a\x00b")) == "ValueError: a\\x00b"
    assert len(describe(ValueError("x" * 5000))) == MAX_ERROR_LENGTH
