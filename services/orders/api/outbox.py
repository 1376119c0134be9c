"""``/api/ops/outbox/parked``: the outbox records the broker rejected for good and the relay
parked, and what an operator does with one: retry it (once its cause is fixed) or discard it
(it is never published; its order's later records go on). Each action is recorded in the
operations log with the operator's name and its outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from services.orders.adapters.operations_log import SqlOperationsLog
from services.orders.api.access import operator_guard
from services.orders.api.operations import ProblemRoute
from services.orders.api.problems import (
    OPERATOR_RESPONSES,
    PROBLEM_RESPONSES,
    ApiProblem,
    documented,
)
from services.orders.api.rate_limits import RateLimits
from services.orders.ports import Outbox, OutboxRecord
from shared.operators import Operator, Operators

MAX_POSITION = 2**63 - 1
"""Positions are 64-bit (``tables.Position``): a larger one names no record."""

Position = Annotated[int, Path(ge=1, le=MAX_POSITION)]


class ParkedRecordOut(BaseModel):
    position: int = Field(description="the record's position in the outbox")
    destination: str = Field(description="sns, fifo or bus")
    stream: str = Field(description="the order whose later records to this destination wait")
    event_id: str | None
    type: str | None = Field(description="the envelope's type, when it has one")
    reason: str = Field(description="why the broker rejected it (the last attempt)")
    attempts: int
    created_at: datetime
    parked_at: datetime


class ParkedRecordsOut(BaseModel):
    records: list[ParkedRecordOut]
    total: int = Field(description="how many records are parked (`records` may list fewer)")


def _parked_out(record: OutboxRecord) -> ParkedRecordOut:
    kind = record.body.get("type")
    return ParkedRecordOut(
        position=record.position,
        destination=record.destination,
        stream=record.stream,
        event_id=None if record.event_id is None else str(record.event_id),
        type=kind if isinstance(kind, str) else None,
        reason=record.park_reason or "",
        attempts=record.attempts,
        created_at=record.created_at,
        parked_at=record.parked_at or record.created_at,
    )


def outbox_router(
    operators: Operators, limits: RateLimits, outbox: Outbox, log: SqlOperationsLog
) -> APIRouter:
    require_operator = operator_guard(operators, limits)
    router = APIRouter(
        prefix="/api/ops/outbox",
        tags=["operations"],
        route_class=ProblemRoute,
        dependencies=[Depends(require_operator)],
        responses={
            **OPERATOR_RESPONSES,
            **documented((404, "No parked record at that position")),
            422: PROBLEM_RESPONSES[422],
        },
    )

    @router.get("/parked", summary="Outbox records the broker rejected and the relay parked")
    def parked(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ParkedRecordsOut:
        return ParkedRecordsOut(
            records=[_parked_out(record) for record in outbox.parked(limit)],
            total=outbox.status().parked,
        )

    async def settle(action: str, position: int, operator: Operator) -> ParkedRecordOut:
        settled = await run_in_threadpool(
            outbox.retry_parked if action == "outbox-retry" else outbox.discard_parked, position
        )
        target = f"outbox/{position}"
        if settled is None:
            problem = ApiProblem(
                404, "No parked record", f"The outbox has no parked record at {position}."
            )
            await run_in_threadpool(log.record, operator.name, action, target, problem.detail)
            raise problem
        outcome = (
            f"{'retried' if action == 'outbox-retry' else 'discarded'}: {settled.destination}"
            f" record of {settled.stream} parked for {settled.park_reason}"
        )
        await run_in_threadpool(log.record, operator.name, action, target, outcome)
        return _parked_out(settled)

    @router.post(
        "/parked/{position}/retry",
        summary="Publish a parked record again (after fixing why it was rejected)",
    )
    async def retry(
        position: Position,
        operator: Operator = Depends(require_operator),  # noqa: B008 (a closure: no Annotated)
    ) -> ParkedRecordOut:
        return await settle("outbox-retry", position, operator)

    @router.post(
        "/parked/{position}/discard",
        summary="Never publish a parked record; its order's later records go on",
    )
    async def discard(
        position: Position,
        operator: Operator = Depends(require_operator),  # noqa: B008 (a closure: no Annotated)
    ) -> ParkedRecordOut:
        return await settle("outbox-discard", position, operator)

    return router
