"""The ``kanjo`` command: a thin skin over the Python API, one module per command group
(each registers its commands on :data:`kanjo.cli.app.app`)."""

from kanjo.cli import export, predict, pretrain, train  # noqa: F401  (register the commands)
from kanjo.cli.app import app, main

__all__ = ["app", "main"]
