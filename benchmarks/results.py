"""The benchmarks' one shared helper: where the project and the data are, the offline
environment, and writing tables into benchmarks/RESULTS.md.

Importing it sets the environment defaults every benchmark runs under (no hub, no tokenizer
thread pool, transformers' warnings only), so import it before transformers or kanjo.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _name, _value in (("HF_HUB_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                      ("TRANSFORMERS_VERBOSITY", "error")):
    os.environ.setdefault(_name, _value)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
"""The data beside the project (read from there, never copied: JRTE is CC BY-NC-SA)."""
PN = SHARED / "jrte-pn" / "pn.train-dev.tsv"
UNLABELED = SHARED / "jrte-unlabeled" / "sentences.txt"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def dir_bytes(path: Path) -> int:
    """Model files of a directory (training logs excluded)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "logs" not in p.parts)


def append(text: str, path: Path = RESULTS) -> None:
    """Add a table (a dated run) at the end of RESULTS.md."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n" + text)


def replace_section(section: str, path: Path = RESULTS) -> None:
    """Replace the ``## …`` section titled like ``section``'s first line (or add it), leaving
    the others alone."""
    title = section.split("\n", 1)[0]
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start = text.find(title + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + section + (text[end:] if end >= 0 else "")
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def stored_or_run(path: Path, run: Callable[[], Any], stored_only: bool = False) -> Any | None:
    """A benchmark result kept as JSON at ``path``: read it when stored; otherwise (unless
    ``stored_only``) run it and store it in one step, so an interrupted benchmark resumes."""
    if path.exists():
        return json.loads(path.read_text())
    if stored_only:
        return None
    result = run()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(result))
    partial.rename(path)
    return result
