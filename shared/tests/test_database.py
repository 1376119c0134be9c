"""Engines of the services' databases: how long a connection may take."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared.database import CONNECT_TIMEOUT_SECONDS, create_engine_for

pytestmark = pytest.mark.integration


def test_a_postgresql_server_that_never_answers_fails_the_connection_in_seconds() -> None:
    """The kernel completes the handshake of a listening socket that nobody serves (a frozen or
    half-dead server): without its own timeout libpq would wait for it indefinitely."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        engine = create_engine_for(f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="timeout"), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        elapsed = time.monotonic() - started
    engine.dispose()
    assert CONNECT_TIMEOUT_SECONDS - 1 < elapsed < CONNECT_TIMEOUT_SECONDS + 3
