"""Checkpoints of an interrupted run: which one to resume from."""

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
