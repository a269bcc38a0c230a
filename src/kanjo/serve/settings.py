"""Server settings: the limits, the micro-batcher's knobs and the security options.

Every limit has a default that suits one CPU server; ``kanjo serve`` sets each from a flag and
:func:`settings_from_env` from a ``KANJO_*`` environment variable (for uvicorn/gunicorn
workers). The API key itself is never a command-line value: only the *name* of the environment
variable that holds it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from kanjo.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """How the server batches, what it accepts and who may call it.

    Sizes are in bytes, lengths in characters, waits in milliseconds, ``retry_after`` in
    seconds. ``max_batch_tokens`` is estimated before tokenising as characters per text (capped
    at the model's max length): a Japanese WordPiece or Unigram piece is about one character.
    """

    max_batch_size: int = 64  # texts per forward pass (on a CPU also ≤ 512 padded tokens)
    max_batch_tokens: int = 8192  # estimated tokens taken from the queue per worker turn
    batch_workers: int = 0  # worker threads; 0: one per core for ONNX, else one
    max_wait_ms: float = 5.0  # how long the first queued request waits for company
    max_queue: int = 1024  # texts waiting; beyond it requests get 429 + Retry-After
    max_body_bytes: int = 1 << 20
    max_texts: int = 64  # texts per request
    max_chars: int = 4000  # characters per text
    max_explain_texts: int = 8  # texts per /explain request (each costs many model calls)
    retry_after: int = 1
    api_key: str | None = None  # the key's value (read from an environment variable)
    cors_origins: tuple[str, ...] = ()
    drain_seconds: float = 30.0  # SIGTERM: how long in-flight requests may take to finish

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_batch_tokens", "max_queue", "max_body_bytes",
                     "max_texts", "max_chars", "max_explain_texts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("batch_workers", "max_wait_ms", "retry_after", "drain_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, not {getattr(self, name)}")
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError("the API key is empty", hint="set the variable to a long secret")

    def limits(self) -> dict[str, int | float]:
        """The limits and batching knobs (no secrets), as /info and the start-up log show them."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("api_key", "cors_origins")}


def api_key_from_env(variable: str | None,
                     environ: dict[str, str] | None = None) -> str | None:
    """The API key held by environment variable ``variable`` (None: no key required).

    Raises :class:`ConfigError` when the variable is named but unset or empty, so a typo never
    leaves a server open by accident."""
    if variable is None:
        return None
    value = (os.environ if environ is None else environ).get(variable)
    if not value or not value.strip():
        raise ConfigError(f"environment variable {variable} is unset or empty",
                          hint=f"export {variable}=<a long random secret>")
    return value


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """Settings from ``KANJO_MAX_BATCH_SIZE``-style variables (one per field, upper case);
    ``KANJO_API_KEY_ENV`` names the key's variable, ``KANJO_CORS_ORIGINS`` is comma-separated.

    Raises :class:`ConfigError` for a value that is not a number."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(f"KANJO_{f.name.upper()}")
        if raw is None or f.name in ("api_key", "cors_origins"):
            continue
        try:
            values[f.name] = float(raw) if f.type == "float" else int(raw)
        except ValueError:
            raise ConfigError(f"KANJO_{f.name.upper()}={raw!r} is not a number") from None
    if env.get("KANJO_CORS_ORIGINS"):
        values["cors_origins"] = tuple(o.strip() for o in env["KANJO_CORS_ORIGINS"].split(",")
                                       if o.strip())
    if env.get("KANJO_API_KEY_ENV"):
        values["api_key"] = api_key_from_env(env["KANJO_API_KEY_ENV"], env)
    return Settings(**values)  # type: ignore[arg-type]
