"""What a task's targets are: the one place that maps ``TrainConfig.task`` to its target type.

=================  =============================================  ==========================
task               targets object                                 ``encode(table)``
=================  =============================================  ==========================
classification     :class:`~kanjo.data.labels.LabelSet`           label ids [n] (int64)
multi-label        :class:`~kanjo.data.label_sets.MultiLabelSet`  multi-hot [n, k] (float32)
regression         :class:`~kanjo.data.regression.RegressionTarget`  values [n] (float32)
=================  =============================================  ==========================

Every targets object offers ``task``, ``names``, ``encode``, ``encode_soft``, ``check_classes``
and ``counts``, so that reading, splitting, training, ``evaluate``, ``cv`` and ``label-issues``
take any of them without asking which task it is; a new task type adds its class and a row in
:data:`READERS` and :data:`SAVED` here. Sentence pairs are orthogonal to the target type: any
task reads them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from kanjo.data.label_sets import MultiLabelSet, joined_label, joined_message, reject_label_lists
from kanjo.data.labels import LabelSet
from kanjo.data.readers import Table
from kanjo.data.regression import RegressionTarget, parse_number
from kanjo.errors import ConfigError, warn_data

Targets = LabelSet | MultiLabelSet | RegressionTarget

REGRESSION_HINT_VALUES = 10
"""More distinct numeric labels than this, or any non-integer one among more than 2, looks like
a regression target to a classification run (which would otherwise make one class per value)."""


def _classification(table: Table, names: Sequence[str] | None,
                    label_sep: str | None) -> LabelSet:
    reject_label_lists(table)
    found = LabelSet(tuple(names)) if names else LabelSet.infer(table)
    warn_if_regression_like(table, found)
    if not names and (joined := joined_label(found)):  # a saved model's names: said at train
        warn_data(f"{joined_message(joined)}; if a text can have several labels, pass --task "
                  f"multi-label --label-sep '{joined[2]}'", file=table.path)
    return found


def _multi_label(table: Table, names: Sequence[str] | None,
                 label_sep: str | None) -> MultiLabelSet:
    return MultiLabelSet(LabelSet(tuple(names)), label_sep) if names else \
        MultiLabelSet.infer(table, label_sep)


def _regression(table: Table, names: Sequence[str] | None,
                label_sep: str | None) -> RegressionTarget:
    if names:
        raise ConfigError("--labels names classes: a regression has one numeric target",
                          hint="drop --labels, or use --task classification")
    return RegressionTarget.infer(table)


READERS: dict[str, Callable[[Table, Sequence[str] | None, str | None], Targets]] = {
    "classification": _classification,
    "multi-label": _multi_label,
    "regression": _regression,
}
"""task → the targets of a labelled table (``names``: ``--labels``)."""

SAVED: dict[str, Callable[[Sequence[str], dict[str, Any]], Targets]] = {
    "classification": lambda names, meta: LabelSet(tuple(names)),
    "multi-label": lambda names, meta: MultiLabelSet(
        LabelSet(tuple(names)), (meta.get("config") or {}).get("label_sep")),
    "regression": lambda names, meta: RegressionTarget(
        names[0] if names else "score", *(meta.get("target_range") or (None, None))),
}
"""task → the targets a saved model records (kanjo.json ``labels``, ``config.label_sep``,
``target_range``)."""


def targets_for(task: str, table: Table, labels: Sequence[str] | None = None,
                label_sep: str | None = None) -> Targets:
    """The targets of ``table`` for ``task``: the given ``labels`` (in that order) or those of
    the data. Classification warns (:class:`~kanjo.errors.DataWarning`) when the labels look
    numeric and continuous, and raises DataError at the line of a label that is a list
    (hint: ``--task multi-label``); multi-label cells are split at ``label_sep``. Raises
    ConfigError for a task not implemented and for ``labels`` given to a regression."""
    if task not in READERS:
        raise ConfigError(f"task {task} is not implemented")
    return READERS[task](table, labels, label_sep)


def target_from_names(task: str, names: Sequence[str],
                      meta: dict[str, Any] | None = None) -> Targets:
    """The targets a saved model records: kanjo.json's ``task`` and ``labels``, and from
    ``meta`` (kanjo.json) a multi-label model's ``config.label_sep`` and a regression's
    ``target_range`` [low, high]. Raises ConfigError for a task not implemented."""
    if task not in SAVED:
        raise ConfigError(f"task {task} is not implemented")
    return SAVED[task](names, meta or {})


def with_label_sep(targets: Targets, label_sep: str | None) -> Targets:
    """``targets`` reading label cells split at ``label_sep`` (None: as they are). Raises
    ConfigError when ``label_sep`` is given for targets that are not label sets."""
    if label_sep is None:
        return targets
    if not isinstance(targets, MultiLabelSet):
        raise ConfigError(f"label_sep separates the labels of a row: this is a "
                          f"{targets.task} model, not multi-label")
    return dataclasses.replace(targets, sep=label_sep)


def warn_if_regression_like(table: Table, labels: LabelSet) -> None:
    """Warn when classification labels are numbers with many distinct values (JSTS' 0–5
    similarity would make dozens of classes): suggest ``--task regression``."""
    values = [parse_number(name) for name in labels.names]
    if any(v is None for v in values):
        return
    fractional = any(not float(v).is_integer() for v in values)
    if len(values) > REGRESSION_HINT_VALUES or (fractional and len(values) > 2):
        warn_data(f"the labels are {len(values)} distinct numbers ({min(values):g} to "
                  f"{max(values):g}): training a classifier makes one class per value; if they "
                  "are scores, pass --task regression", file=table.path)
