"""Duplicate rows: the same text more than once in a labelled file.

Copies of one text must stay on one side of every split (train/dev, and each cross-validation
fold): a dev row that is also a training row inflates the dev score. Copies with different
labels (conflicts) are named line by line. Texts are compared after the one text
normalisation (:func:`~kanjo.data.normalize.normalize_text`), as the model sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kanjo.data.normalize import normalize_text
from kanjo.data.readers import Table
from kanjo.errors import warn_data


def duplicate_groups(texts: Sequence[str] | Sequence[tuple[str, str]]) -> np.ndarray:
    """A group id [n] (int64) per text or ``(text, text_pair)`` pair: equal after NFKC ⇔
    equal id (ids in first-seen order)."""
    seen: dict[str | tuple[str, ...], int] = {}
    return np.array([seen.setdefault(_key(t), len(seen)) for t in texts], dtype=np.int64)


def split_groups(table: Table) -> np.ndarray:
    """Rows that must stay on one side of a split [n] (int64): copies of a text; for sentence
    pairs every pair that shares its first text (a premise asked with several hypotheses), so
    that no premise is both trained on and scored."""
    return duplicate_groups(table.texts)


def _key(text: str | tuple[str, str]) -> str | tuple[str, ...]:
    return normalize_text(text) if isinstance(text, str) else tuple(map(normalize_text, text))


@dataclass
class Duplicates:
    """The duplicated texts of a table: ``groups`` holds the 0-based rows of each text that
    occurs more than once; ``conflicts`` those of them whose labels differ."""

    groups: list[list[int]] = field(default_factory=list)
    conflicts: list[list[int]] = field(default_factory=list)

    @property
    def copies(self) -> int:
        """Rows beyond the first of each duplicated text."""
        return sum(len(g) - 1 for g in self.groups)


def find_duplicates(table: Table, ids: np.ndarray | None = None) -> Duplicates:
    """The duplicated texts of ``table`` (labels from ``ids``, else ``table.labels``)."""
    groups = duplicate_groups(table.inputs)
    members: dict[int, list[int]] = {}
    for row, group in enumerate(groups.tolist()):
        members.setdefault(group, []).append(row)
    labels = table.labels if ids is None else [
        tuple(v) if isinstance(v, list) else v for v in ids.tolist()]  # label sets: [n, k]
    out = Duplicates()
    for rows in members.values():
        if len(rows) > 1:
            out.groups.append(rows)
            if labels is not None and len({labels[r] for r in rows}) > 1:
                out.conflicts.append(rows)
    return out


def report_duplicates(table: Table, ids: np.ndarray | None = None) -> Duplicates:
    """:func:`find_duplicates`, with a :class:`~kanjo.errors.DataWarning` for the duplicates
    and one naming the lines of every conflict; counts go to ``table.stats``
    (``duplicates``: extra copies, ``conflicts``: texts with different labels)."""
    found = find_duplicates(table, ids)
    if not found.groups:
        return found
    table.stats["duplicates"] = found.copies
    line = table.lines
    shown = "; ".join(f"lines {', '.join(str(line[r]) for r in rows)}"
                      for rows in found.groups[:5])
    more = f"; … ({len(found.groups)} texts in all)" if len(found.groups) > 5 else ""
    warn_data(f"{found.copies} duplicate row(s): {len(found.groups)} text(s) occur more than "
              f"once ({shown}{more}); the copies of a text are kept together on one side of "
              "every split", file=table.path)
    if found.conflicts:
        table.stats["conflicts"] = len(found.conflicts)
        labels = table.labels or []
        for rows in found.conflicts:
            where = ", ".join(f"line {line[r]} ({labels[r]!r})" if labels else f"line {line[r]}"
                              for r in rows)
            warn_data(f"the same text has different labels: {where}", file=table.path)
    return found


def overlap(train: Table, dev: Table) -> list[int]:
    """Rows (0-based) of ``dev`` whose text (or pair) is also one of ``train`` (after NFKC)."""
    seen = {_key(t) for t in train.inputs}
    return [i for i, t in enumerate(dev.inputs) if _key(t) in seen]
