"""How a model's scores become predictions, one rule per task (kanjo.json ``task``).

* ``classification``: softmax over the labels (with the calibration temperature); the
  prediction is the most probable label.
* ``multi-label``: an independent sigmoid per label; the prediction is the set of labels whose
  probability reaches that label's threshold (kanjo.json ``thresholds``, chosen on dev; 0.5
  when absent), possibly empty.
* ``regression``: one output, the predicted value itself (no probabilities).

Every consumer — :class:`~kanjo.inference.classifier.Classifier` (torch, ONNX, TF-IDF and
embedding backends alike), ``kanjo predict``, the server — goes through the rule, so a task's
decision is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kanjo.errors import ModelError


class SingleLabelRule:
    """One label per text: softmax, argmax."""

    task = "classification"
    has_probabilities = True

    def outputs(self, scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Class probabilities [n, k] (rows sum to 1) from logits [n, k]."""
        from kanjo.evaluation.calibration import softmax

        return softmax(scores, temperature)

    def predict(self, proba: np.ndarray, names: Sequence[str]) -> list[Any]:
        """The most probable label name per row."""
        return [names[i] for i in np.asarray(proba).argmax(axis=1)]

    def row(self, p: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
        """One prediction as ``kanjo predict`` writes it (after the text): label, score (its
        probability), every label's probability."""
        best = int(np.argmax(p))
        return {"label": names[best], "score": float(p[best]),
                "probabilities": {n: float(v) for n, v in zip(names, p, strict=True)}}

    def metrics(self, y_true: np.ndarray, proba: np.ndarray,
                names: Sequence[str]) -> dict[str, Any]:
        from kanjo.evaluation.metrics import classification_metrics

        return classification_metrics(y_true, np.asarray(proba).argmax(axis=1), names, proba)


class MultiLabelRule:
    """A set of labels per text: sigmoid per label, per-label thresholds."""

    task = "multi-label"
    has_probabilities = True

    def __init__(self, thresholds: Sequence[float]):
        self.thresholds = np.asarray(thresholds, dtype=np.float64)

    def outputs(self, scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Per-label probabilities [n, k] (independent; rows need not sum to 1). The
        temperature is 1 for every multi-label model (temperature scaling is a softmax
        calibration)."""
        from kanjo.evaluation.multi_label import sigmoid

        return sigmoid(np.asarray(scores) / temperature)

    def decisions(self, proba: np.ndarray) -> np.ndarray:
        """[n, k] bool: which labels each row has."""
        from kanjo.evaluation.multi_label import decide

        return decide(proba, self.thresholds)

    def predict(self, proba: np.ndarray, names: Sequence[str]) -> list[Any]:
        """The label set per row, as a list of names in label order (empty: no label)."""
        return [[names[j] for j in np.flatnonzero(on)] for on in self.decisions(proba)]

    def row(self, p: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
        """One prediction: labels (the set, label order), every label's probability."""
        return {"labels": self.predict(p[None, :], names)[0],
                "probabilities": {n: float(v) for n, v in zip(names, p, strict=True)}}

    def metrics(self, y_true: np.ndarray, proba: np.ndarray,
                names: Sequence[str]) -> dict[str, Any]:
        from kanjo.evaluation.multi_label import multi_label_metrics

        out = multi_label_metrics(y_true, self.decisions(proba), names, proba)
        out["thresholds"] = dict(zip(names, self.thresholds.tolist(), strict=True))
        return out


class RegressionRule:
    """One value per text: the model's single output, in the target's units."""

    task = "regression"
    has_probabilities = False

    def outputs(self, scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """The predicted values as one column [n, 1] (float32; a regression is not
        calibrated)."""
        return np.asarray(scores, dtype=np.float32)[:, :1]

    def predict(self, values: np.ndarray, names: Sequence[str]) -> list[Any]:
        """The value per row (floats)."""
        return np.asarray(values)[:, 0].astype(float).tolist()

    def row(self, value: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
        """One prediction: its value."""
        return {"value": float(value[0])}

    def metrics(self, y_true: np.ndarray, values: np.ndarray,
                names: Sequence[str]) -> dict[str, Any]:
        from kanjo.evaluation.regression_metrics import regression_metrics

        return regression_metrics(y_true, np.asarray(values)[:, 0])


Rule = SingleLabelRule | MultiLabelRule | RegressionRule


def _multi_label_rule(meta: dict[str, Any], num_labels: int) -> MultiLabelRule:
    from kanjo.evaluation.multi_label import DEFAULT_THRESHOLD

    thresholds = meta.get("thresholds") or [DEFAULT_THRESHOLD] * num_labels
    if len(thresholds) != num_labels or not all(
            isinstance(t, int | float) and not isinstance(t, bool) and 0 <= t <= 1
            for t in thresholds):
        raise ModelError(f"kanjo.json's thresholds must be {num_labels} numbers in [0, 1], "
                         f"got {thresholds!r}")
    return MultiLabelRule(thresholds)


RULES: dict[str, Any] = {
    "classification": lambda meta, k: SingleLabelRule(),
    "multi-label": _multi_label_rule,
    "regression": lambda meta, k: RegressionRule(),
}
"""task → the rule of a model (from its kanjo.json and number of outputs)."""


def decision_rule(meta: dict[str, Any], num_labels: int) -> Rule:
    """The rule of a model whose kanjo.json is ``meta`` (``task`` absent: classification).
    Raises :class:`ModelError` for an unknown task or thresholds that do not fit the labels."""
    task = meta.get("task", "classification")
    if task not in RULES:
        raise ModelError(f"kanjo.json names the task {task!r}, which this kanjo cannot predict",
                         hint="upgrade kanjo, or re-train the model")
    return RULES[task](meta, num_labels)
