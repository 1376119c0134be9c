"""The uvicorn server that serves the API in ``serve`` and ``run``."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

# Keep idle connections longer than clients and proxies do (CloudFront, load balancers and httpx
# close theirs sooner), so a reused connection is never closed mid-request.
KEEP_ALIVE_SECONDS = 75


def http_server(app: FastAPI, host: str, port: int, log_level: str) -> Any:
    """A ``uvicorn.Server``: ``run()`` serves until ``should_exit`` is set."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # The client is the socket's peer: only the API's rate limits read X-Forwarded-For, as
        # ORDERS_RATE_LIMIT_TRUSTED_PROXY_HOPS says (uvicorn would trust it from 127.0.0.1).
        proxy_headers=False,
    )
    return uvicorn.Server(config)
