"""Refuse request bodies over the SNS/SQS message limit before any handler sees them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.orders.api.problems import problem_response
from shared.envelope import MAX_MESSAGE_BYTES


class BodySizeLimit:
    """ASGI middleware: 413 for a body larger than ``max_bytes``, whether announced by
    ``Content-Length`` or only found while reading a streamed (chunked) body."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                response = problem_response(
                    400, "Malformed request", f"Content-Length {declared!r} is not a number."
                )
                await response(scope, receive, send)
                return
            if length > self.max_bytes:
                await self._too_large(scope, receive, send, f"Content-Length is {length} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(
                    scope, receive, send, f"the body exceeds the limit ({size} bytes read)"
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        response = problem_response(
            413,
            "Request body too large",
            f"{what}; the limit is {self.max_bytes} bytes (256 KB, the SNS/SQS message size).",
            instance=scope.get("path"),
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
