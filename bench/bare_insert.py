"""The placement bench's baseline: a bare FastAPI endpoint that inserts one row as large as an
OrderPlaced event and commits (``uvicorn --factory bench.bare_insert:create_app``, configured
by ``BENCH_DATABASE_URL`` and ``BENCH_ROW_BYTES``)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert

from shared.database import create_engine_for


def create_app() -> FastAPI:
    """One SQLAlchemy insert of a row as large as an OrderPlaced event, and a commit."""
    metadata = MetaData()
    rows = Table(
        "bench_bare_rows",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("row_id", String(36), nullable=False),
        Column("payload", JSON, nullable=False),
    )
    engine = create_engine_for(os.environ["BENCH_DATABASE_URL"])
    metadata.create_all(engine)
    padding = "x" * int(os.environ["BENCH_ROW_BYTES"])
    app = FastAPI()

    @app.post("/api/orders", status_code=201)
    def place(body: dict[str, Any]) -> dict[str, str]:
        row_id = str(uuid.uuid4())
        with engine.begin() as conn:
            conn.execute(insert(rows).values(row_id=row_id, payload={**body, "pad": padding}))
        return {"order_id": row_id}

    return app
