"""What a task's targets are: the one place that maps ``TrainConfig.task`` to its target type.

``classification`` has a :class:`~kanjo.data.labels.LabelSet` (label names, ids),
``regression`` a :class:`~kanjo.data.regression.RegressionTarget` (one numeric output). Both
offer ``names``, ``encode``, ``encode_soft``, ``check_classes`` and ``counts``, so that reading,
splitting and training take either; a new task type adds its class here.
"""

from __future__ import annotations

from collections.abc import Sequence

from kanjo.data.labels import LabelSet
from kanjo.data.readers import Table
from kanjo.data.regression import RegressionTarget, parse_number
from kanjo.errors import ConfigError, warn_data

Targets = LabelSet | RegressionTarget

REGRESSION_HINT_VALUES = 10
"""More distinct numeric labels than this, or any non-integer one among more than 2, looks like
a regression target to a classification run (which would otherwise make one class per value)."""


def targets_for(task: str, table: Table, labels: Sequence[str] | None = None) -> Targets:
    """The targets of ``table`` for ``task``: the given ``labels`` or those of the data for
    classification (with a :class:`~kanjo.errors.DataWarning` when the labels look numeric and
    continuous), the target column for regression. Raises ConfigError for a task not
    implemented and for ``labels`` given to a regression."""
    if task == "classification":
        found = LabelSet(tuple(labels)) if labels else LabelSet.infer(table)
        warn_if_regression_like(table, found)
        return found
    if task == "regression":
        if labels:
            raise ConfigError("--labels names classes: a regression has one numeric target",
                              hint="drop --labels, or use --task classification")
        return RegressionTarget.infer(table)
    raise ConfigError(f"task {task} is not implemented")


def target_from_names(task: str, names: Sequence[str],
                      value_range: Sequence[float] | None = None) -> Targets:
    """The targets a saved model records: kanjo.json's ``task``, ``labels`` and, for a
    regression, ``target_range`` [low, high]."""
    if task == "regression":
        low, high = value_range if value_range else (None, None)
        return RegressionTarget(names[0] if names else "score", low, high)
    if task != "classification":
        raise ConfigError(f"task {task} is not implemented")
    return LabelSet(tuple(names))


def task_of(targets: Targets) -> str:
    """The task name of ``targets``."""
    return getattr(targets, "task", "classification")


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
