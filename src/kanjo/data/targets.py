"""What a row's label becomes for each task (``TrainConfig.task``): label ids [n] for
classification, a multi-hot matrix [n, k] for multi-label (:mod:`kanjo.data.label_sets`).
Every step that reads labelled rows — training, ``evaluate``, ``cv``, ``label-issues`` — goes
through these two functions, so a task's reading rules live in one place."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kanjo.data.label_sets import (
    check_label_sets,
    infer_label_names,
    multi_hot,
    parse_label_sets,
    reject_label_lists,
)
from kanjo.data.labels import LabelSet
from kanjo.data.readers import Table
from kanjo.errors import ConfigError

LABEL_TASKS = ("classification", "multi-label")
"""The tasks whose targets are label names (regression's are numbers)."""


def infer_targets(table: Table, task: str = "classification", label_sep: str | None = None,
                  names: Sequence[str] | None = None) -> tuple[LabelSet, np.ndarray]:
    """The label set (``names`` in that order, else the labels found in ``table``) and the
    targets of every row: ids [n] (int64) or, for ``multi-label``, multi-hot [n, k] (float32).
    Raises DataError at the line of a label that cannot be read (for classification, a list of
    labels: the hint names ``--task multi-label``)."""
    if task == "multi-label":
        sets = parse_label_sets(table, label_sep)
        labels = LabelSet(tuple(names)) if names else infer_label_names(table, sets)
        return labels, multi_hot(labels, table, sets)
    if task not in LABEL_TASKS:
        raise ConfigError(f"{task} is not implemented")
    reject_label_lists(table)
    labels = LabelSet(tuple(names)) if names else LabelSet.infer(table)
    return labels, labels.encode(table)


def encode_targets(labels: LabelSet, table: Table, task: str = "classification",
                   label_sep: str | None = None) -> np.ndarray:
    """The targets of ``table``'s rows against a known label set (dev rows, evaluation data)."""
    return infer_targets(table, task, label_sep, labels.names)[1]


def check_targets(labels: LabelSet, y: np.ndarray, table: Table) -> None:
    """Training targets that can train a model: two classes present, or, for multi-label,
    every label both present and absent somewhere."""
    if np.ndim(y) == 2:
        check_label_sets(labels, y, table)
    else:
        labels.check_classes(y, table)
