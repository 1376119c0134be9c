"""``GET /api/health``: each dependency's check, 503 when one is unavailable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.orders.api.schemas import CheckOut, HealthOut

Check = Callable[[], None]
"""Returns when the dependency answers, raises (saying why) when it does not."""

# A probe answers a load balancer or an operator within a few seconds, unavailable or not: it
# tries once, connects within a second and reads within two.
PROBE_CONNECT_TIMEOUT_SECONDS = 1
PROBE_READ_TIMEOUT_SECONDS = 2


def health_router(checks: Mapping[str, Check]) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["health"])

    @router.get(
        "/health",
        response_model=HealthOut,
        summary="Database and emulator reachability (503 when one is unavailable)",
        responses={503: {"model": HealthOut, "description": "a dependency is unavailable"}},
    )
    def health() -> Any:
        results = {name: _check(probe) for name, probe in checks.items()}
        healthy = all(result.status == "ok" for result in results.values())
        body = HealthOut(status="ok" if healthy else "degraded", checks=results)
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if healthy else 503)

    return router


def _check(probe: Check) -> CheckOut:
    try:
        probe()
    except Exception as error:  # any failure means unavailable; the reason is reported
        return CheckOut(status="unavailable", detail=f"{type(error).__name__}: {error}")
    return CheckOut(status="ok")
