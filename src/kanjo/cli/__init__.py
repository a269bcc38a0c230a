"""The ``kanjo`` command: a thin skin over the Python API (one module per command group)."""

from kanjo.cli import explain as _explain  # noqa: F401  (registers `kanjo explain`)
from kanjo.cli.app import app, main

__all__ = ["app", "main"]
