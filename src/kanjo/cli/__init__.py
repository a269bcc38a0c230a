"""The ``kanjo`` command: a thin skin over the Python API (one module per command group)."""

from kanjo.cli import explain as _explain  # noqa: F401  (registers `kanjo explain`)
from kanjo.cli import label_issues as _label_issues  # noqa: F401  (`kanjo label-issues`)
from kanjo.cli import report as _report  # noqa: F401  (registers `kanjo report`)
from kanjo.cli.app import app, main

__all__ = ["app", "main"]
