"""The ``kanjo`` command: a thin skin over the Python API, one module per command group
(each registers its commands on :data:`kanjo.cli.app.app`)."""

# registers the commands, in the order `kanjo --help` lists them
from kanjo.cli import (  # noqa: F401, I001
    train, predict, explain, report, label_issues, export, pretrain, serve,
)
from kanjo.cli.app import app, main

__all__ = ["app", "main"]
