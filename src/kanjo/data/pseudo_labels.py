"""Pseudo-labelled rows for self-training.

A trained model (the teacher) labels unlabelled in-domain text — ``kanjo predict TEACHER
--input sentences.txt --output pseudo.jsonl`` — and a new model (the student) trains on the
labelled rows plus those, with the teacher's probabilities as soft targets.

Rows whose text is already in the labelled data are left out (and counted): a dev sentence
labelled by the teacher would leak into training, and a training sentence already has its
real label.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kanjo.data.labels import LabelSet
from kanjo.data.normalize import normalize_texts
from kanjo.data.readers import Table, read_table
from kanjo.errors import DataError
from kanjo.storage import sha256_file


@dataclass
class PseudoLabels:
    """The teacher-labelled rows a run adds to its training rows."""

    table: Table
    y: np.ndarray
    soft: np.ndarray | None
    info: dict[str, object] = field(default_factory=dict)


def read_pseudo_labels(path: str | Path, labels: LabelSet, labelled: Collection[str], *,
                       rows: int = 0, seed: int = 42, soft: bool | str = "auto") -> PseudoLabels:
    """Read ``kanjo predict`` JSONL output (or any file with a label and, for soft targets, a
    ``probabilities`` / ``soft_labels`` column), leave out texts in ``labelled``, and keep a
    seeded random sample of ``rows`` of the rest (0: all)."""
    table = read_table(path)
    table.texts = normalize_texts(table.texts)[0]  # as the labelled rows are
    fresh = [i for i, text in enumerate(table.texts) if text not in labelled]
    if not fresh:
        raise DataError("has no row whose text is not already in the labelled data",
                        file=table.path)
    if rows > len(fresh):
        raise DataError(f"has {len(fresh)} pseudo-labelled rows not in the labelled data, "
                        f"fewer than the {rows} asked for", file=table.path,
                        hint="lower --pseudo-rows, or 0 for all")
    keep = fresh
    if rows:
        keep = sorted(np.random.default_rng(seed).choice(fresh, rows, replace=False).tolist())
    info = {"file": str(table.path), "sha256": sha256_file(table.path), "rows": len(keep),
            "skipped_labelled": len(table) - len(fresh), "unused": len(fresh) - len(keep)}
    table = table.subset(keep)
    return PseudoLabels(table, labels.encode(table),
                        labels.encode_soft(table) if soft else None, info)


def add_pseudo_labels(train: Table, y: np.ndarray, soft: np.ndarray | None,
                      pseudo: PseudoLabels) -> tuple[Table, np.ndarray, np.ndarray | None]:
    """The training rows followed by the pseudo-labelled ones (the merged table keeps the
    training file as its path). When either side has soft targets, both do: hard labels become
    one-hot rows."""
    merged = dataclasses.replace(
        train, texts=train.texts + pseudo.table.texts, lines=train.lines + pseudo.table.lines,
        labels=None if train.labels is None else train.labels + (pseudo.table.labels or []),
        soft=None, splits=None)
    both = None
    if soft is not None or pseudo.soft is not None:
        one_hot = np.eye((soft if soft is not None else pseudo.soft).shape[1], dtype=np.float32)
        both = np.concatenate([soft if soft is not None else one_hot[y],
                               pseudo.soft if pseudo.soft is not None else one_hot[pseudo.y]])
    return merged, np.concatenate([y, pseudo.y]), both
