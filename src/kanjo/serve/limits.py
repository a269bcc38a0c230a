"""The request body limit, applied before any route reads the body.

A pure ASGI middleware: it refuses a ``Content-Length`` over the limit at once, and counts the
bytes of a body without one (chunked), so a client can never make the server buffer more than
``max_bytes``. The body it read is handed on to the route unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kanjo.serve.errors import error_response

Scope = dict[str, Any]


class BodyLimit:
    """Answer 413 ``payload_too_large`` for a request body over ``max_bytes`` bytes;
    ``on_failure(path, error_type)`` counts each refusal."""

    def __init__(self, app: Any, max_bytes: int, on_failure: Callable[[str, str], None]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_failure = on_failure

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Any, send: Any) -> None:
        self.on_failure(scope.get("path", ""), "payload_too_large")
        response = error_response(413, "payload_too_large",
                                  f"the request body is over {self.max_bytes} bytes")
        await response(scope, receive, send)
