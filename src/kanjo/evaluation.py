"""Metrics: accuracy, macro/weighted P/R/F1, per-class scores, confusion matrix, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


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


def calibration(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Expected calibration error of the top-class probability, with its reliability table."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > lo) & (confidence <= hi)
        if not inside.any():
            continue
        acc, conf = float(correct[inside].mean()), float(confidence[inside].mean())
        ece += inside.mean() * abs(acc - conf)
        table.append({"bin": [float(lo), float(hi)], "n": int(inside.sum()),
                      "accuracy": acc, "confidence": conf})
    nll = -np.log(np.clip(proba[np.arange(len(proba)), np.asarray(y_true)], 1e-12, 1.0))
    return {"ece": float(ece), "nll": float(nll.mean()) if len(nll) else 0.0,
            "reliability": table}


def fit_temperature(scores: np.ndarray, y_true: Sequence[int] | np.ndarray) -> float:
    """Temperature scaling (Guo et al., 2017): the T > 0 that minimises the negative
    log-likelihood of softmax(scores / T) on held-out rows. Keeps every prediction's argmax."""
    from scipy.optimize import minimize_scalar

    y = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)

    def nll(log_t: float) -> float:
        z = scores / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y].mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def summary_line(metrics: dict[str, Any]) -> str:
    return (f"macro-F1 {metrics['macro_f1']:.4f} · accuracy {metrics['accuracy']:.4f} · "
            f"weighted-F1 {metrics['weighted_f1']:.4f} · n={metrics['n']}")
