"""``/api/ops/set-aside-events``: the events a read model could not store and set aside, for an
operator to see why (an operator's credential, like every ``/api/ops`` route). The runbook: fix
the cause, then ``python -m services.orders rebuild-projections`` retries them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.orders.adapters.summaries import OrderSummaries
from services.orders.api.access import operator_guard
from services.orders.api.operations import ProblemRoute
from services.orders.api.problems import OPERATOR_RESPONSES, PROBLEM_RESPONSES
from services.orders.api.rate_limits import RateLimits
from shared.operators import Operators


class SetAsideEventOut(BaseModel):
    projection: str = Field(description="the read model that set it aside")
    position: int = Field(description="the event's position in the log")
    event_id: str
    stream_id: str
    type: str
    error: str = Field(description="why it could not be stored (the last attempt)")
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime


class SetAsideEventsOut(BaseModel):
    events: list[SetAsideEventOut]
    total: int = Field(description="how many events are set aside (`events` may list fewer)")


def projections_router(
    operators: Operators, limits: RateLimits, summaries: OrderSummaries
) -> APIRouter:
    router = APIRouter(
        prefix="/api/ops",
        tags=["operations"],
        route_class=ProblemRoute,
        dependencies=[Depends(operator_guard(operators, limits))],
        responses={**OPERATOR_RESPONSES, 422: PROBLEM_RESPONSES[422]},
    )

    @router.get(
        "/set-aside-events",
        summary="Events a read model could not store, oldest first (retried by a rebuild)",
    )
    def set_aside_events(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> SetAsideEventsOut:
        listed = summaries.set_aside_events(limit=limit)
        return SetAsideEventsOut(
            events=[
                SetAsideEventOut(
                    projection=event.projection,
                    position=event.position,
                    event_id=event.event_id,
                    stream_id=event.stream_id,
                    type=event.event_type,
                    error=event.error,
                    attempts=event.attempts,
                    first_failed_at=event.first_failed_at,
                    last_failed_at=event.last_failed_at,
                )
                for event in listed.events
            ],
            total=listed.total,
        )

    return router
