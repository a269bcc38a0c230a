"""Checkpoints of an interrupted run: which one to resume from, and removing them safely.

A checkpoint folder ``{prefix}-{step}`` is complete when its state file (written last) parses
as JSON. Removal goes the other way round: the state file first, so that a kill in the middle of
a removal leaves an incomplete checkpoint (skipped on resume), never one that looks complete
but lacks its weights or optimiser state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def last_complete_checkpoint(directory: Path, prefix: str, state_file: str) -> Path | None:
    """The newest ``{prefix}-{step}`` folder of ``directory`` that was fully written: its
    ``state_file`` (written last) parses as JSON. A kill can interrupt a save: such a
    half-written checkpoint is removed."""
    found = sorted(Path(directory).glob(f"{prefix}-*"), key=lambda p: int(p.name.split("-")[-1]))
    for candidate in reversed(found):
        try:
            json.loads((candidate / state_file).read_text(encoding="utf-8"))
            return candidate
        except (OSError, ValueError):
            shutil.rmtree(candidate, ignore_errors=True)
    return None


def remove_checkpoint(path: Path, state_file: str) -> None:
    """Remove the checkpoint folder ``path``, its ``state_file`` first (see the module)."""
    (Path(path) / state_file).unlink(missing_ok=True)
    shutil.rmtree(path, ignore_errors=True)


def remove_checkpoints(directory: Path, prefix: str, state_file: str) -> None:
    """Remove ``directory`` with every ``{prefix}-*`` checkpoint in it: first every state file,
    then the files (a run killed meanwhile resumes from the start, not from a gutted
    checkpoint)."""
    for path in Path(directory).glob(f"{prefix}-*"):
        (path / state_file).unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)
