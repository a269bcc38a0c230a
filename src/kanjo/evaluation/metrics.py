"""Classification metrics: accuracy, macro/weighted P/R/F1, per-class scores, confusion matrix
(scikit-learn's implementations), plus the calibration figures when probabilities are given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from kanjo.evaluation.calibration import calibration


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[str],
    proba: np.ndarray | None = None,
) -> dict[str, Any]:
    """All the figures kanjo reports, as plain JSON-ready values."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    ids = list(range(len(labels)))
    out: dict[str, Any] = {"n": int(len(y_true)), "labels": list(labels),
                           "accuracy": float(accuracy_score(y_true, y_pred))}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=ids, average=average, zero_division=0
        )
        out.update({f"{average}_precision": float(p), f"{average}_recall": float(r),
                    f"{average}_f1": float(f)})
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=ids, average=None, zero_division=0
    )
    out["per_class"] = {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
               "support": int(s[i])}
        for i, name in enumerate(labels)
    }
    out["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=ids).tolist()
    if proba is not None:
        out.update(calibration(y_true, proba))
    return out


def summary_line(metrics: dict[str, Any]) -> str:
    """The headline figures in one line (multi-label: :mod:`kanjo.evaluation.multi_label`'s)."""
    if metrics.get("task") == "multi-label":
        from kanjo.evaluation.multi_label import summary_line as multi_label_line

        return multi_label_line(metrics)
    """One line of the headline figures: classification's, or a regression's."""
    if "pearson" in metrics:
        from kanjo.evaluation.regression_metrics import regression_summary

        return regression_summary(metrics)
    return (f"macro-F1 {metrics['macro_f1']:.4f} · accuracy {metrics['accuracy']:.4f} · "
            f"weighted-F1 {metrics['weighted_f1']:.4f} · n={metrics['n']}")
