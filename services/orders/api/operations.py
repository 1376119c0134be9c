"""``/api/ops``: the stack's queue and DLQ depths, alarm states and recent alarm notifications,
DLQ redrive, and the log of what operators did.

Every route needs an operator's credential (`Authorization: Bearer <credential>`); every redrive
is logged with the operator's name and its outcome. Problems are answered as
`application/problem+json` by the router itself, so it keeps that shape in any app.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.orders.adapters.operations_log import OperatorAction, SqlOperationsLog
from services.orders.adapters.queue_operations import (
    AlarmNotification,
    AlarmState,
    NotRedrivable,
    QueueDepth,
    QueueOperations,
    QueuePair,
    RedriveRefused,
    UnknownQueue,
)
from services.orders.api.access import operator_guard
from services.orders.api.problems import PROBLEM_JSON, RATE_LIMITED, ApiProblem
from services.orders.api.rate_limits import RateLimits
from shared.operators import Operator, Operators


class ProblemRoute(APIRoute):
    """Answers an `ApiProblem` raised by a dependency or an endpoint as problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_problems(request: Request) -> Response:
            try:
                return await handle(request)
            except ApiProblem as problem:
                return problem.response(request.url.path)

        return handle_problems


class RedriveOut(BaseModel):
    status: str
    moved: int
    to_move: int | None
    failure_reason: str | None


class QueueOut(BaseModel):
    name: str
    messages: int
    in_flight: int
    last_redrive: RedriveOut | None


class QueuePairOut(BaseModel):
    queue: QueueOut | None
    dead_letter: QueueOut | None
    redrivable: bool


class QueuesOut(BaseModel):
    queues: list[QueuePairOut]


class AlarmOut(BaseModel):
    name: str
    state: str
    reason: str
    updated_at: datetime | None
    description: str
    queue_name: str | None


class AlarmsOut(BaseModel):
    alarms: list[AlarmOut]


class AlarmNotificationOut(BaseModel):
    name: str
    state: str
    previous_state: str
    reason: str
    changed_at: datetime


class AlarmNotificationsOut(BaseModel):
    notifications: list[AlarmNotificationOut]


class RedriveStartedOut(BaseModel):
    task_handle: str
    dead_letter: str
    destination: str


class OperatorActionOut(BaseModel):
    operator: str
    action: str
    target: str
    outcome: str
    recorded_at: datetime


class OperationsLogOut(BaseModel):
    entries: list[OperatorActionOut]


def _queue_out(depth: QueueDepth | None) -> QueueOut | None:
    if depth is None:
        return None
    redrive = depth.last_redrive
    return QueueOut(
        name=depth.name,
        messages=depth.messages,
        in_flight=depth.in_flight,
        last_redrive=RedriveOut(**redrive.__dict__) if redrive else None,
    )


def _pair_out(pair: QueuePair) -> QueuePairOut:
    return QueuePairOut(
        queue=_queue_out(pair.queue),
        dead_letter=_queue_out(pair.dead_letter),
        redrivable=pair.redrivable,
    )


def _alarm_out(alarm: AlarmState) -> AlarmOut:
    return AlarmOut(**alarm.__dict__)


def _notification_out(notification: AlarmNotification) -> AlarmNotificationOut:
    return AlarmNotificationOut(**notification.__dict__)


def _action_out(action: OperatorAction) -> OperatorActionOut:
    return OperatorActionOut(**action.__dict__)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{
        status: {"description": title, "content": {PROBLEM_JSON: {}}}
        for status, title in [
            (401, "Operator credential missing, or wrong"),
            (404, "Unknown queue"),
            (409, "Redrive not possible"),
            (422, "Invalid request"),
            (503, "Operator directory unavailable"),
        ]
    },
    **RATE_LIMITED,
}


def operations_router(
    operators: Operators, limits: RateLimits, ops: QueueOperations, log: SqlOperationsLog
) -> APIRouter:
    """Routes under `/api/ops`, for `operators` only (within `limits`); their actions go to
    `log`."""
    require_operator = operator_guard(operators, limits)

    router = APIRouter(
        prefix="/api/ops",
        tags=["operations"],
        route_class=ProblemRoute,
        dependencies=[Depends(require_operator)],
        responses=PROBLEM_RESPONSES,
    )

    @router.get("/queues", summary="Depth of every queue and of its dead-letter queue")
    async def list_queues() -> QueuesOut:
        pairs = await run_in_threadpool(ops.queues)
        return QueuesOut(queues=[_pair_out(pair) for pair in pairs])

    @router.get("/alarms", summary="Every alarm of the stack with its state")
    async def list_alarms() -> AlarmsOut:
        alarms = await run_in_threadpool(ops.alarms)
        return AlarmsOut(alarms=[_alarm_out(alarm) for alarm in alarms])

    @router.get(
        "/alarms/recent",
        summary="The newest alarm notifications (state changes) on the stack's alarms queue",
        description="Read without consuming: every reader sees the same notifications until"
        " the queue's retention ends them.",
    )
    async def recent_alarms(
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> AlarmNotificationsOut:
        notifications = await run_in_threadpool(ops.recent_alarm_notifications, limit)
        return AlarmNotificationsOut(notifications=[_notification_out(n) for n in notifications])

    @router.post(
        "/queues/{name}/redrive",
        status_code=202,
        summary="Move the messages of a dead-letter queue back to its source queue",
    )
    async def redrive(
        name: str,
        operator: Operator = Depends(require_operator),  # noqa: B008 (a closure: no Annotated)
    ) -> RedriveStartedOut:
        try:
            started = await run_in_threadpool(ops.redrive, name)
        except UnknownQueue as error:
            problem = ApiProblem(404, "Unknown queue", f"The stack has no queue named {name!r}.")
            await run_in_threadpool(log.record, operator.name, "redrive", name, problem.detail)
            raise problem from error
        except (NotRedrivable, RedriveRefused) as error:
            await run_in_threadpool(log.record, operator.name, "redrive", name, str(error))
            raise ApiProblem(409, "Redrive not possible", str(error)) from error
        outcome = f"started: task {started.task_handle} moves to {started.destination}"
        await run_in_threadpool(log.record, operator.name, "redrive", name, outcome)
        return RedriveStartedOut(**started.__dict__)

    @router.get("/log", summary="What operators did, newest first (reviews are order events)")
    async def operations_log(
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> OperationsLogOut:
        actions = await run_in_threadpool(log.recent, limit)
        return OperationsLogOut(entries=[_action_out(action) for action in actions])

    return router
