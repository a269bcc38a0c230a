"""Multi-label targets (``--task multi-label``): each row holds a set of labels, possibly empty.

A label cell is read as

* a JSON list — ``["部屋", "食事"]``, ``[]`` for a row with no label (a JSONL list, or the
  same text in a CSV/TSV cell);
* with ``label_sep`` (e.g. ``;``), labels between separators — ``部屋;食事``; ``[]`` is still the
  empty set;
* otherwise one label — ``部屋`` is the set {部屋}.

An empty cell (or NaN, JSON null, an absent key) is a *missing* label, not an empty set: the
reader stops at its line, as for any task, so that a row nobody labelled is never trained on as
"no label applies". Spellings are merged as for classification
(:func:`~kanjo.data.normalize.fold_label`, through :meth:`LabelSet.encode`, with its warning),
and the labels are not mutually exclusive: the target is a multi-hot matrix [n, k].
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from kanjo.data.labels import LabelSet, canonical_spellings
from kanjo.data.readers import Table
from kanjo.errors import DataError

EMPTY_SET = "[]"


def as_label_list(value: str) -> list | None:
    """The JSON list a label cell holds (``'["a", "b"]'`` → ``["a", "b"]``), else None."""
    text = value.strip()
    if not text.startswith("["):
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, list) else None


def reject_label_lists(table: Table) -> None:
    """For single-label tasks: a label cell holding a list of labels raises DataError at its
    line, suggesting ``--task multi-label`` (it would otherwise become a class of its own)."""
    for i, value in enumerate(table.labels or ()):
        if as_label_list(value) is not None:
            raise table.error(i, f"the label {value.strip()[:40]} is a list of labels",
                              hint="pass --task multi-label to train on label sets")


def parse_label_sets(table: Table, sep: str | None = None) -> list[tuple[str, ...]]:
    """Each row's labels as written (order kept, exact repeats removed). Raises DataError at
    the line of a list that holds anything but non-empty strings or numbers, or of a cell
    that has only separators."""
    if table.labels is None:
        raise DataError("has no labels", file=table.path)
    out = []
    for i, value in enumerate(table.labels):
        listed = as_label_list(value)
        if listed is not None:
            bad = [x for x in listed if isinstance(x, bool) or not isinstance(x, str | int | float)
                   or not str(x).strip()]
            if bad:
                raise table.error(i, f"the label list {value.strip()[:40]} holds {bad[0]!r}, "
                                  "not a label name", hint='write ["name", ...], or [] for none')
            names = [str(x).strip() for x in listed]
        elif sep:
            names = [part.strip() for part in value.split(sep) if part.strip()]
            if not names:
                raise table.error(i, f"the label cell {value!r} holds only separators",
                                  hint=f"write {EMPTY_SET} for a row with no label")
        else:
            names = [value.strip()]
        out.append(tuple(dict.fromkeys(names)))
    return out


def infer_label_names(table: Table, sets: list[tuple[str, ...]]) -> LabelSet:
    """The labels that occur in ``sets`` (one spelling each, as :meth:`LabelSet.infer`
    chooses it), sorted."""
    found = sorted(canonical_spellings([name for row in sets for name in row]).values())
    if len(found) < 2:
        raise DataError(f"has {len(found)} distinct label(s) {found}: a multi-label task needs "
                        "at least two", file=table.path)
    return LabelSet(tuple(found))


LIKELY_SEPARATORS = (";", "|", ",", "、", "/")


def joined_label(labels: LabelSet) -> tuple[str, list[str], str] | None:
    """The first label that is two or more of the other labels joined by one of
    :data:`LIKELY_SEPARATORS`, as (label, its parts, the separator); None if there is none.
    Such a label means each cell was read as one label: ``部屋;食事`` would be trained as a
    label of its own, never as 部屋 and 食事."""
    names = set(labels.names)
    for name in labels.names:
        for sep in LIKELY_SEPARATORS:
            parts = [part.strip() for part in name.split(sep) if part.strip()]
            if len(parts) > 1 and all(part in names for part in parts):
                return name, parts, sep
    return None


def joined_message(found: tuple[str, list[str], str]) -> str:
    """What :func:`joined_label` found, in words."""
    name, parts, sep = found
    return (f"has the label {name!r}, which is the labels "
            f"{', '.join(repr(p) for p in parts)} joined by {sep!r}: each cell was read as one "
            "label")


def check_not_joined(labels: LabelSet, table: Table) -> None:
    """DataError naming the separator to pass when :func:`joined_label` finds one."""
    if found := joined_label(labels):
        raise DataError(joined_message(found), file=table.path,
                        hint=f"pass --label-sep '{found[2]}' (or write the cells as JSON lists)")


def multi_hot(labels: LabelSet, table: Table, sets: list[tuple[str, ...]]) -> np.ndarray:
    """Targets [n, k] (float32, 1 where row i has label j). Each label goes through
    :meth:`LabelSet.encode` (spelling merges warned about and recorded in ``table.stats``; an
    unknown label raises DataError at its row's line)."""
    rows = [i for i, row in enumerate(sets) for _ in row]
    flat = Table(table.path, table.format, [table.texts[i] for i in rows],
                 [table.lines[i] for i in rows], labels=[name for row in sets for name in row])
    ids = labels.encode(flat) if rows else np.zeros(0, dtype=np.int64)
    if "labels_merged" in flat.stats:
        table.stats["labels_merged"] = flat.stats["labels_merged"]
    out = np.zeros((len(table), len(labels)), dtype=np.float32)
    out[np.asarray(rows, dtype=np.int64), ids] = 1.0
    return out


def check_label_sets(labels: LabelSet, y: np.ndarray, table: Table) -> None:
    """Training needs every label on at least one row and off at least one row (a label that
    is never or always present teaches nothing and gets no threshold)."""
    positives = y.sum(axis=0)
    never = [labels.names[j] for j in np.flatnonzero(positives == 0)]
    always = [labels.names[j] for j in np.flatnonzero(positives == len(y))]
    if never:
        raise DataError(f"label(s) {', '.join(never)} occur on no training row", file=table.path,
                        hint="add rows with them, or leave them out of --labels")
    if always:
        raise DataError(f"label(s) {', '.join(always)} are on every training row: nothing to "
                        "learn", file=table.path)


@dataclass(frozen=True)
class MultiLabelSet:
    """The targets of ``--task multi-label``: the label names (a :class:`LabelSet`) and how a
    cell separates them (``sep``; None: a JSON list or one label). It offers what a
    :class:`LabelSet` offers — ``names``, ``encode``, ``encode_soft``, ``check_classes``,
    ``counts`` — with multi-hot targets [n, k] in place of label ids [n]."""

    labels: LabelSet
    sep: str | None = None

    task = "multi-label"
    problem_type = "multi_label_classification"
    """transformers' ``config.problem_type``: a sigmoid per label."""

    @classmethod
    def infer(cls, table: Table, sep: str | None = None) -> MultiLabelSet:
        """The labels that occur in ``table``'s label sets. DataError: fewer than two, or,
        without ``sep``, labels that are other labels joined by a separator (``部屋;食事``
        beside ``部屋``: the file separates its labels, and ``--label-sep`` was forgotten)."""
        labels = infer_label_names(table, parse_label_sets(table, sep))
        if sep is None:
            check_not_joined(labels, table)
        return cls(labels, sep)

    @property
    def names(self) -> tuple[str, ...]:
        return self.labels.names

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def id2label(self) -> dict[int, str]:
        return self.labels.id2label

    @property
    def label2id(self) -> dict[str, int]:
        return self.labels.label2id

    def encode(self, table: Table) -> np.ndarray:
        """Multi-hot targets [n, k] (float32): :func:`multi_hot` of the parsed label sets;
        DataError at the line of a cell that cannot be read or names an unknown label."""
        return multi_hot(self.labels, table, parse_label_sets(table, self.sep))

    def encode_soft(self, table: Table) -> None:
        """Label sets have no label distributions: always None."""
        return None

    def check_classes(self, y: np.ndarray, table: Table) -> None:
        """:func:`check_label_sets`: every label both present and absent in training."""
        check_label_sets(self.labels, y, table)

    def counts(self, y: np.ndarray) -> dict[str, int]:
        """Rows per label of a multi-hot matrix [n, k]."""
        return {name: int(n) for name, n in zip(self.names, np.sum(y, axis=0), strict=True)}
