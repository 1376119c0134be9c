"""The operator token guard of every operator action (reviews, redrives, queue views)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from services.orders.api.problems import ApiProblem

BEARER = HTTPBearer(auto_error=False, description="The operator token")

OperatorGuard = Callable[[HTTPAuthorizationCredentials | None], None]


def operator_guard(token: SecretStr) -> OperatorGuard:
    """A dependency refusing requests without the token (401) or with another one (403)."""
    expected = token.get_secret_value().encode()

    def require_operator(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        if credentials is None:
            raise ApiProblem(
                401,
                "Operator token missing",
                "Send the operator token as `Authorization: Bearer <token>`.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise ApiProblem(403, "Operator token wrong", "The operator token is not valid.")

    return require_operator
