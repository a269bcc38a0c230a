"""Bootstrap confidence intervals of the headline metrics (Efron & Tibshirani 1993, "An
Introduction to the Bootstrap"): rows resampled with replacement, percentile intervals, with
``scipy.stats.bootstrap``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

METRICS = ("accuracy", "macro_f1", "weighted_f1")


def bootstrap_intervals(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                        n_classes: int, confidence: float = 0.95, resamples: int = 1000,
                        seed: int = 0) -> dict[str, dict[str, float]]:
    """``{metric: {"value", "low", "high"}}`` for accuracy, macro-F1 and weighted-F1 (the
    same definitions as scikit-learn's, a class never predicted nor present scoring F1 0):
    the value on all rows and the percentile interval over ``resamples`` bootstrap resamples
    of the rows ([n] labels and predictions, ids ``0..n_classes-1``)."""
    from scipy.stats import bootstrap

    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    out: dict[str, dict[str, float]] = {}
    if len(y_true) == 0:
        return out
    for name in METRICS:
        def statistic(t: np.ndarray, p: np.ndarray, axis: int = -1, name: str = name) -> Any:
            return _metric(name, t, p, n_classes)

        value = float(_metric(name, y_true[None, :], y_pred[None, :], n_classes)[0])
        if len(y_true) < 2:
            out[name] = {"value": value, "low": value, "high": value}
            continue
        result = bootstrap((y_true, y_pred), statistic, paired=True, vectorized=True,
                           n_resamples=resamples, confidence_level=confidence,
                           method="percentile", batch=max(1, 2_000_000 // len(y_true)),
                           rng=np.random.default_rng(seed))
        low, high = result.confidence_interval
        out[name] = {"value": value, "low": float(low), "high": float(high)}
    return out


def _metric(name: str, t: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """The metric per row of ``t``/``p`` [B, n] → [B]."""
    if name == "accuracy":
        return (t == p).mean(axis=-1)
    classes = np.arange(k)
    truth = t[..., None] == classes  # [B, n, k]
    guess = p[..., None] == classes
    tp = (truth & guess).sum(axis=-2)
    support = truth.sum(axis=-2)
    denominator = support + guess.sum(axis=-2)
    f1 = np.divide(2.0 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)
    if name == "macro_f1":
        return f1.mean(axis=-1)
    return (f1 * support).sum(axis=-1) / t.shape[-1]
