"""Every error the server answers, as JSON ``{"error", "error_type"}`` with its HTTP status.

The shape is text-embeddings-inference's, so its clients read kanjo's errors too. Validation
errors are 422, an empty batch 400, a missing or wrong API key 401, a body / request / text
over a limit 413, a full queue 429 and shutting down 503 (both with ``Retry-After``), an
absent optional feature 501. Nothing answers with a traceback; an unexpected exception is a
JSON 500 that names only its type (and is a bug to report).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("kanjo.serve")

_HTTP_TYPES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request",
               413: "payload_too_large", 415: "unsupported_media_type"}


class ApiError(Exception):
    """An error answered as ``{"error": message, "error_type": error_type}`` with ``status``
    (and ``Retry-After: retry_after`` seconds when given)."""

    def __init__(self, status: int, error_type: str, message: str,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.retry_after = retry_after


def error_response(status: int, error_type: str, message: str,
                   retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"error": message, "error_type": error_type}, status_code=status,
                        headers=headers)


def install_error_handlers(app: FastAPI, on_failure: Callable[[str, str], None]) -> None:
    """Answer every exception as JSON; ``on_failure(path, error_type)`` counts each."""

    def answer(request: Request, status: int, error_type: str, message: str,
               retry_after: int | None = None) -> JSONResponse:
        on_failure(request.url.path, error_type)
        return error_response(status, error_type, message, retry_after)

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return answer(request, exc.status, exc.error_type, exc.message, exc.retry_after)

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return answer(request, 422, "validation", _describe(exc.errors()))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        error_type = _HTTP_TYPES.get(exc.status_code, "http_error")
        return answer(request, exc.status_code, error_type, str(exc.detail))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        return answer(request, 500, "internal", f"internal error ({type(exc).__name__})")

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
        ApiError: api_error, RequestValidationError: validation,
        StarletteHTTPException: http_error, Exception: unexpected}
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


def _describe(errors: Any) -> str:
    """One line per pydantic error: where (``body.inputs.0``) and what."""
    parts = []
    for error in list(errors)[:5]:
        where = ".".join(str(x) for x in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else
                     str(error.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"
