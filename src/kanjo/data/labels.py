"""LabelSet: the ordered label names of a task, and the mapping between names and ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kanjo.data.normalize import fold_label
from kanjo.data.readers import Table
from kanjo.errors import DataError, warn_data


@dataclass(frozen=True)
class LabelSet:
    """Ordered, unique label names; id ``i`` is ``names[i]``: the targets of
    ``--task classification``."""

    names: tuple[str, ...]

    task = "classification"
    problem_type = "single_label_classification"
    """transformers' ``config.problem_type`` of the task."""

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise DataError(f"a classifier needs at least 2 labels, got {list(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise DataError(f"the labels repeat a name: {list(self.names)}")
        folded: dict[str, str] = {}
        for name in self.names:
            other = folded.setdefault(fold_label(name), name)
            if other != name:
                raise DataError(f"the labels '{other}' and '{name}' differ only in case, width, "
                                "spacing or a decimal point (1.0 = 1)",
                                hint="give each label one spelling")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    @classmethod
    def infer(cls, table: Table) -> LabelSet:
        """The labels found in the data: the format's own order, else sorted (numerically when
        every label is an integer)."""
        if table.labels is None:
            raise DataError("has no labels", file=table.path)
        if table.label_names:
            return cls(table.label_names)
        found = sorted(canonical_spellings(table.labels).values())
        if all(_integer(v) is not None for v in found):
            found.sort(key=_integer)
        if len(found) < 2:
            raise DataError(
                f"has a single class ('{found[0]}'): a classifier needs at least two",
                file=table.path,
            )
        return cls(tuple(found))

    def encode(self, table: Table) -> np.ndarray:
        """Label ids [n] (int64) for every row. A spelling that differs from a name only in
        case, width, spacing or a decimal point (:func:`~kanjo.data.normalize.fold_label`:
        ``Positive``, ``ｐｏｓｉｔｉｖｅ``, ``ﾎﾟｼﾞ``, ``1.0``) is that label: each such merge is
        warned about (:class:`~kanjo.errors.DataWarning`, naming the spelling, its rows and
        first line) and recorded in ``table.stats["labels_merged"]``. Integer labels index the names
        when they are not names themselves (``0/1/2`` with ``--labels
        negative,neutral,positive``; ``1.0`` as ``1``). Any other label raises DataError at
        its line."""
        if table.labels is None:
            raise DataError("has no labels", file=table.path)
        lookup = self.label2id
        folded = {fold_label(name): i for i, name in enumerate(self.names)}
        keys = {value: fold_label(value) for value in set(table.labels)}  # once per spelling
        index = {value: _integer(key) for value, key in keys.items()}
        by_index = not any(v in lookup or key in folded for v, key in keys.items()) and all(
            n is not None and 0 <= n < len(self) for n in index.values())
        ids = np.empty(len(table), dtype=np.int64)
        merged: dict[str, list[int]] = {}
        for i, value in enumerate(table.labels):
            if by_index:
                ids[i] = index[value]
            elif value in lookup:
                ids[i] = lookup[value]
            elif keys[value] in folded:
                ids[i] = folded[keys[value]]
                merged.setdefault(value, []).append(i)
            else:
                raise table.error(i, f"label '{value}' is not one of {', '.join(self.names)}",
                                  hint="fix the row, or list every label with --labels")
        if merged:
            table.stats["labels_merged"] = {
                value: {"into": self.names[ids[rows[0]]], "rows": len(rows),
                        "first_line": table.lines[rows[0]]} for value, rows in merged.items()}
            warn_data("label spellings that differ only in case, width, spacing or a decimal "
                      "point were merged: "
                      + "; ".join(f"{value!r} → {self.names[ids[rows[0]]]!r} ({len(rows)} "
                                  f"row{'s' if len(rows) > 1 else ''}, first on line "
                                  f"{table.lines[rows[0]]})" for value, rows in merged.items()),
                      file=table.path)
        return ids

    def encode_soft(self, table: Table) -> np.ndarray | None:
        """Per-row label distributions [n, k] (rows sum to 1), or None when the table has none."""
        if table.soft is None:
            return None
        lookup = self.label2id
        out = np.zeros((len(table), len(self)), dtype=np.float32)
        for i, dist in enumerate(table.soft):
            for name, weight in dist.items():
                if name not in lookup:
                    index = _integer(name)
                    if index is not None and 0 <= index < len(self):
                        out[i, index] += weight
                        continue
                    raise table.error(i, f"soft label '{name}' is not one of "
                                      f"{', '.join(self.names)}")
                out[i, lookup[name]] += weight
            out[i] /= out[i].sum()
        return out

    def check_classes(self, ids: np.ndarray, table: Table) -> None:
        """Training needs at least two distinct classes."""
        present = Counter(ids.tolist())
        if len(present) < 2:
            only = self.names[next(iter(present))] if present else "none"
            raise DataError(f"has a single class ('{only}'): a classifier needs at least two",
                            file=table.path)

    def counts(self, ids: Sequence[int] | np.ndarray) -> dict[str, int]:
        """Rows per label of label ids [n]."""
        counter = Counter(int(i) for i in ids)
        return {name: counter.get(i, 0) for i, name in enumerate(self.names)}


def canonical_spellings(values: Sequence[str]) -> dict[str, str]:
    """One spelling per label: fold key (:func:`~kanjo.data.normalize.fold_label`) → the most
    frequent spelling of that key, counting a spelling with surrounding spaces as its trimmed
    form (ties: the first seen); an integer key is its own spelling (``1.0`` → ``1``)."""
    counts: dict[str, Counter[str]] = {}
    for value in values:
        counts.setdefault(fold_label(value), Counter())[value.strip()] += 1
    return {key: key if _integer(key) is not None else spellings.most_common(1)[0][0]
            for key, spellings in counts.items()}


def _integer(value: str) -> int | None:
    """The integer a label spells (``2``, ``2.0``, ``２``), or None."""
    try:
        return int(fold_label(value))
    except ValueError:
        return None
