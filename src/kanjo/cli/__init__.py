"""The ``kanjo`` command: a thin skin over the Python API (one module per command group)."""

from kanjo.cli import serve as _serve  # noqa: F401 — registers `kanjo serve`
from kanjo.cli.app import app, main

__all__ = ["app", "main"]
