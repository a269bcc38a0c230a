"""Writing benchmark tables into benchmarks/RESULTS.md (the benchmarks' one shared helper)."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


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
