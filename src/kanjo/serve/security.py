"""The optional API key: sent as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

The key is compared in constant time (:func:`hmac.compare_digest`), so response timing tells
an attacker nothing about how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from kanjo.serve.errors import ApiError

_bearer = HTTPBearer(auto_error=False, description="The server's API key.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's API key.")


def key_checker(key: str) -> Callable[..., None]:
    """A FastAPI dependency raising :class:`ApiError` 401 unless the request carries ``key``."""
    expected = key.encode("utf-8")

    def check(bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
              header: Annotated[str | None, Security(_header)]) -> None:
        given = bearer.credentials if bearer is not None else header
        if given is None:
            raise ApiError(401, "unauthorized", "an API key is required (Authorization: Bearer "
                           "KEY or X-API-Key: KEY)")
        # the server decodes header bytes as latin-1: encoding back gives the bytes sent
        if not hmac.compare_digest(given.encode("latin-1", "replace"), expected):
            raise ApiError(401, "unauthorized", "the API key is not valid")

    return check
