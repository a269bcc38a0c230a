"""RegressionTarget: a numeric target per row (a similarity or intensity score, a star rating).

It stands where a classification task has its :class:`~kanjo.data.labels.LabelSet`: one model
output named after the target (the label column), ``encode`` turning the label cells into
float32 values and DataError naming the line of a cell that is not a finite number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kanjo.data.readers import Table
from kanjo.errors import DataError


@dataclass(frozen=True)
class RegressionTarget:
    """One numeric output named ``name``; ``low``/``high`` is the training range (None until
    known), which predictions are clipped to when asked."""

    name: str = "score"
    low: float | None = None
    high: float | None = None

    task = "regression"
    problem_type = "regression"
    """transformers' ``config.problem_type``: the raw value."""

    @property
    def names(self) -> tuple[str, ...]:
        """The output's name, as a one-entry label list (config.json's id2label)."""
        return (self.name,)

    def __len__(self) -> int:
        return 1

    @property
    def id2label(self) -> dict[int, str]:
        return {0: self.name}

    @property
    def label2id(self) -> dict[str, int]:
        return {self.name: 0}

    @classmethod
    def infer(cls, table: Table) -> RegressionTarget:
        """The target of ``table``: named after its label column ("score" without one), its
        range that of the values."""
        values = cls().encode(table)
        return cls(table.columns.get("label") or "score", float(values.min()),
                   float(values.max()))

    def encode(self, table: Table) -> np.ndarray:
        """Target values [n] (float32). Raises DataError at the line of a label that is not a
        finite number (``"3.5"``, ``"4"`` and ``"-1e-2"`` are numbers; ``"high"``, ``"NaN"``
        and ``"inf"`` are not)."""
        if table.labels is None:
            raise DataError("has no labels", file=table.path)
        out = np.empty(len(table), dtype=np.float32)
        for i, value in enumerate(table.labels):
            number = parse_number(value)
            if number is None:
                raise table.error(i, f"the label {value!r} is not a number, and --task "
                                  "regression needs a numeric target per row",
                                  hint="fix the row, or train a classifier (--task "
                                       "classification)")
            out[i] = number
        return out

    def encode_soft(self, table: Table) -> None:
        """Regression has no label distributions: always None."""
        return None

    def check_classes(self, values: np.ndarray, table: Table) -> None:
        """Training needs at least two distinct target values."""
        if len(np.unique(values)) < 2:
            raise DataError(f"every training row has the same target ({values[0]:g}): "
                            "nothing to learn", file=table.path)

    def counts(self, values: Sequence[float] | np.ndarray) -> dict[str, float | int]:
        """Summary of target values: n, mean, sd (population), min, max."""
        v = np.asarray(values, dtype=np.float64)
        if not len(v):
            return {"n": 0}
        return {"n": int(len(v)), "mean": round(float(v.mean()), 4),
                "sd": round(float(v.std()), 4), "min": float(v.min()), "max": float(v.max())}

    def with_range(self, values: np.ndarray) -> RegressionTarget:
        """This target with the range of ``values`` (the training targets)."""
        return RegressionTarget(self.name, float(np.min(values)), float(np.max(values)))

    def clip(self, values: np.ndarray) -> np.ndarray:
        """``values`` clipped to the training range (unchanged when it is unknown)."""
        if self.low is None or self.high is None:
            return values
        return np.clip(values, self.low, self.high)


def parse_number(value: str) -> float | None:
    """``value`` as a finite float, or None."""
    try:
        number = float(value.strip())
    except (ValueError, AttributeError):
        return None
    return number if math.isfinite(number) else None
