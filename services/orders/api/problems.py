"""Errors as ``application/problem+json`` (RFC 9457) that say what is wrong."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from services.orders.domain.model import DomainError, InvalidOrder
from services.orders.ports import ConcurrencyError
from services.orders.service import IdempotencyKeyReused, UnknownOrder

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str | None
    message: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = []


def documented(*statuses: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses answered as problem+json, by status, with their titles."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": title}
        for status, title in statuses
    }


PROBLEM_RESPONSES = documented(
    (400, "Malformed request"),
    (404, "Unknown order (or the access token is not this order's)"),
    (409, "Conflict with the order's state or a concurrent change"),
    (413, "Request body too large"),
    (415, "Body not sent as JSON"),
    (422, "Invalid request"),
)
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": "Too many requests from this client; nothing was done",
        "headers": {
            "Retry-After": {
                "description": "Whole seconds to wait before trying again",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}
_DIRECTORY_UNAVAILABLE = (503, "Operator directory unavailable")
OPERATOR_RESPONSES = {
    **documented((401, "Operator credential missing, or wrong"), _DIRECTORY_UNAVAILABLE),
    **RATE_LIMITED,
}
CUSTOMER_RESPONSES = documented((401, "Access token missing"))
READER_RESPONSES = {
    **documented((401, "Access token missing"), _DIRECTORY_UNAVAILABLE),
    **RATE_LIMITED,
}


class ApiProblem(Exception):
    """A problem to answer as is."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors or []
        self.headers = headers or {}

    def response(self, instance: str) -> JSONResponse:
        return problem_response(
            self.status,
            self.title,
            self.detail,
            instance=instance,
            errors=self.errors,
            headers=self.headers,
        )


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body = Problem(
        type=f"/api/docs#problem-{slug}",
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors or [],
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on the request's path (Starlette's 405 names
    only the methods of the first route that matched the path)."""
    routes = request.app.router.routes

    def answers(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] is Match.FULL for route in routes)

    return [method for method in HTTP_METHODS if answers(method)]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return exc.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = list(exc.errors())
        malformed = [p for p in problems if p.get("type") == "json_invalid"]
        if malformed:
            context = malformed[0].get("ctx", {})
            where = malformed[0].get("loc", ("body", 0))
            return problem_response(
                400,
                "Malformed JSON",
                f"The request body is not valid JSON: {context.get('error', 'cannot be parsed')}"
                f" (at character {where[-1]}).",
                instance=request.url.path,
            )
        content_type = request.headers.get("content-type", "")
        body_sent = int(request.headers.get("content-length") or 0) > 0
        if (
            body_sent
            and "json" not in content_type
            and any(p["loc"] == ("body",) for p in problems)
        ):
            return problem_response(
                415,
                "Unsupported media type",
                f"The body was sent as {content_type or 'no content type'!r}; send JSON with"
                " Content-Type: application/json.",
                instance=request.url.path,
            )
        errors = [FieldError(field=_location(tuple(p["loc"])), message=p["msg"]) for p in problems]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem_response(
            422, "Invalid request", detail, instance=request.url.path, errors=errors
        )

    @app.exception_handler(InvalidOrder)
    async def invalid_order(request: Request, exc: InvalidOrder) -> JSONResponse:
        errors = [FieldError(field=None, message=problem) for problem in exc.problems]
        return problem_response(
            422, "Invalid order", "; ".join(exc.problems), instance=request.url.path, errors=errors
        )

    @app.exception_handler(UnknownOrder)
    async def unknown_order(request: Request, exc: UnknownOrder) -> JSONResponse:
        return problem_response(404, "Unknown order", str(exc), instance=request.url.path)

    @app.exception_handler(IdempotencyKeyReused)
    async def key_reused(request: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        return problem_response(422, "Idempotency key reused", str(exc), instance=request.url.path)

    @app.exception_handler(DomainError)
    async def invalid_transition(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(409, "Invalid transition", str(exc), instance=request.url.path)

    @app.exception_handler(ConcurrencyError)
    async def concurrent_change(request: Request, exc: ConcurrencyError) -> JSONResponse:
        return problem_response(
            409,
            "Concurrent change",
            f"order {exc.stream_id!r} changed meanwhile: {exc}; read it again and retry",
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(
            exc.status_code, title, str(exc.detail), instance=request.url.path, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "Internal error",
            "The server failed; nothing was changed by this request.",
            instance=request.url.path,
        )
