"""Who may do what: the customer holding an order's access token, and named operators.

Both send their credential as ``Authorization: Bearer <credential>`` (never in a URL, so no
access log or referrer carries it). An order answers only its customer's token (and operators
reading it); a wrong token gets the very 404 an unknown order gets, so order ids cannot be
probed. A credential that is no operator's is 401 (RFC 6750 ``invalid_token``), never 403: the
edge answers 403s with the single-page app. Operators are identified by ``shared.operators``;
the name of the one who acts comes from the credential, never from the request. Requests with an
operator's credential are rate-limited per operator, and missing or wrong credentials per client
address (``services.orders.api.rate_limits``); an order's customer is not limited here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.orders.api.problems import ApiProblem
from services.orders.api.rate_limits import RateLimits
from services.orders.service import OrderService, UnknownOrder
from shared.operators import DirectoryUnavailable, Operator, Operators

ORDER_TOKEN = HTTPBearer(
    scheme_name="OrderAccessToken",
    auto_error=False,
    description="The order's access token, returned once by `POST /api/orders`.",
)
OPERATOR_CREDENTIAL = HTTPBearer(
    scheme_name="OperatorCredential",
    auto_error=False,
    description="An operator's own credential (`python -m services.orders operators add NAME`).",
)

OrderToken = Annotated[HTTPAuthorizationCredentials | None, Depends(ORDER_TOKEN)]
OperatorCredential = Annotated[HTTPAuthorizationCredentials | None, Depends(OPERATOR_CREDENTIAL)]


def operator_guard(operators: Operators, limits: RateLimits) -> Callable[..., Operator]:
    """A dependency answering the operator who sends the request (401 without a credential or
    with one that is no operator's; 429 over the operator's or the address's limit)."""

    def require_operator(request: Request, credentials: OperatorCredential) -> Operator:
        limits.admit_unidentified(request.scope)
        if credentials is None:
            limits.refuse_unidentified(request.scope)
            raise ApiProblem(
                401,
                "Operator credential missing",
                "Send your operator credential as `Authorization: Bearer <credential>`.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        operator = _identify(operators, credentials.credentials)
        if operator is None:
            limits.refuse_unidentified(request.scope)
            raise ApiProblem(
                401,
                "Operator credential wrong",
                "The credential is not an operator's (or that operator was removed).",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        limits.admit_operator(operator.name)
        return operator

    return require_operator


def customer_guard(service: OrderService) -> Callable[..., None]:
    """A dependency admitting only the holder of the order's access token (else 404)."""

    def require_customer(order_id: str, credentials: OrderToken) -> None:
        if not service.holds_access(order_id, _token(credentials)):
            raise UnknownOrder(order_id)

    return require_customer


def reader_guard(
    service: OrderService, operators: Operators, limits: RateLimits
) -> Callable[..., None]:
    """A dependency admitting the order's customer or any operator (else 404; 429 over the
    operator's limit, or over the address's when its tokens were no one's)."""

    def require_reader(
        request: Request, order_id: str, credentials: OrderToken, _operator: OperatorCredential
    ) -> None:
        token = _token(credentials)
        if service.holds_access(order_id, token):
            return
        limits.admit_unidentified(request.scope)
        operator = _identify(operators, token)
        if operator is None:
            limits.refuse_unidentified(request.scope)
            raise UnknownOrder(order_id)
        limits.admit_operator(operator.name)

    return require_reader


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise ApiProblem(
            401,
            "Access token missing",
            "Send the order's access token (returned by `POST /api/orders`) as"
            " `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


def _identify(operators: Operators, credential: str) -> Operator | None:
    try:
        return operators.identify(credential)
    except DirectoryUnavailable as error:
        raise ApiProblem(
            503,
            "Operator directory unavailable",
            "Operators cannot be identified right now; try again shortly.",
            headers={"Retry-After": "5"},
        ) from error
