"""Multi-label scoring (``--task multi-label``): independent per-label probabilities (the
sigmoid of each logit), per-label decision thresholds chosen on dev, and the metrics of the
field — micro/macro F1, per-label P/R/F1, subset accuracy, Hamming loss (scikit-learn's
implementations) and a per-label expected calibration error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.5
MIN_THRESHOLD_POSITIVES = 5
"""Fewest dev rows with a label on which its threshold is tuned; below, it stays
:data:`DEFAULT_THRESHOLD` (a threshold fitted to one or two positives follows those rows, not
the label)."""


def sigmoid(scores: np.ndarray) -> np.ndarray:
    """Per-label probabilities [n, k] from logits [n, k] (same dtype). Written in numpy, like
    :func:`~kanjo.evaluation.calibration.softmax`: the ONNX prediction path imports no scipy."""
    z = np.asarray(scores)
    return np.exp(-np.logaddexp(0.0, -z)).astype(z.dtype, copy=False)


def decide(proba: np.ndarray, thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    """The decision [n, k] (bool): label j is on where ``proba[:, j] >= thresholds[j]``."""
    return np.asarray(proba) >= np.asarray(thresholds, dtype=np.float64)[None, :]


def choose_thresholds(y_true: np.ndarray, proba: np.ndarray,
                      min_positives: int = MIN_THRESHOLD_POSITIVES
                      ) -> tuple[list[float], dict[str, Any]]:
    """Per-label thresholds [k] that maximise each label's F1 on held-out rows (``y_true``
    multi-hot [n, k], ``proba`` [n, k]), and what was done (``tuned``: per-label bool,
    ``reason``). Candidates are the midpoints between consecutive distinct probabilities (ties:
    the one nearest 0.5). A label with fewer than ``min_positives`` positive rows keeps
    :data:`DEFAULT_THRESHOLD`."""
    from sklearn.metrics import f1_score

    y = np.asarray(y_true) > 0.5
    p = np.asarray(proba, dtype=np.float64)
    thresholds, tuned = [], []
    for j in range(y.shape[1]):
        if y[:, j].sum() < min_positives:
            thresholds.append(DEFAULT_THRESHOLD)
            tuned.append(False)
            continue
        values = np.unique(p[:, j])
        candidates = np.concatenate([[DEFAULT_THRESHOLD], (values[1:] + values[:-1]) / 2])
        scores = [f1_score(y[:, j], p[:, j] >= t, zero_division=0) for t in candidates]
        best = max(scores)
        near = [t for t, s in zip(candidates, scores, strict=True) if s == best]
        thresholds.append(round(float(min(near, key=lambda t: abs(t - 0.5))), 6))
        tuned.append(True)
    return thresholds, {"method": "per-label F1 maximum on dev", "tuned": tuned,
                        "min_positives": min_positives,
                        "fallback": f"{DEFAULT_THRESHOLD} for labels with fewer dev positives"}


def multi_label_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str],
                        proba: np.ndarray | None = None) -> dict[str, Any]:
    """Every multi-label figure kanjo reports, JSON-ready: ``y_true`` and ``y_pred`` multi-hot
    [n, k]. ``subset_accuracy``: rows whose whole label set is right; ``hamming_loss``: the
    share of wrong (row, label) decisions; with ``proba``, ``ece`` (the mean of the per-label
    ECEs of each label's probability as a binary forecast) and ``per_label[*].ece``."""
    from sklearn.metrics import accuracy_score, hamming_loss, precision_recall_fscore_support

    y = np.asarray(y_true) > 0.5
    pred = np.asarray(y_pred) > 0.5
    out: dict[str, Any] = {"task": "multi-label", "n": int(len(y)), "labels": list(labels),
                           "subset_accuracy": float(accuracy_score(y, pred)) if len(y) else 0.0,
                           "hamming_loss": float(hamming_loss(y, pred)) if len(y) else 0.0,
                           "rows_without_label": int((~y.any(axis=1)).sum()),
                           "predicted_without_label": int((~pred.any(axis=1)).sum())}
    for average in ("micro", "macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y, pred, average=average, zero_division=0)
        out.update({f"{average}_precision": float(p), f"{average}_recall": float(r),
                    f"{average}_f1": float(f)})
    p, r, f, s = precision_recall_fscore_support(y, pred, average=None, zero_division=0)
    out["per_label"] = {name: {"precision": float(p[j]), "recall": float(r[j]),
                               "f1": float(f[j]), "support": int(s[j])}
                        for j, name in enumerate(labels)}
    if proba is not None:
        eces = [binary_ece(y[:, j], np.asarray(proba)[:, j]) for j in range(y.shape[1])]
        for name, ece in zip(labels, eces, strict=True):
            out["per_label"][name]["ece"] = ece
        out["ece"] = float(np.mean(eces)) if eces else 0.0
    return out


def binary_ece(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of one label's probability as a forecast of its presence:
    equal-width bins over [0, 1], |observed frequency − mean probability| weighted by the
    bin's share of rows."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    if not len(p):
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in np.unique(which):
        inside = which == b
        ece += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return float(ece)


def summary_line(metrics: dict[str, Any]) -> str:
    return (f"micro-F1 {metrics['micro_f1']:.4f} · macro-F1 {metrics['macro_f1']:.4f} · "
            f"subset accuracy {metrics['subset_accuracy']:.4f} · Hamming loss "
            f"{metrics['hamming_loss']:.4f} · n={metrics['n']}")
