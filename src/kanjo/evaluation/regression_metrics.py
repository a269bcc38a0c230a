"""Regression metrics: Pearson and Spearman correlation (scipy.stats, as JGLUE scores JSTS),
RMSE and MAE (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

REGRESSION_KEYS = ("pearson", "spearman", "rmse", "mae")
"""The figures of :func:`regression_metrics`, in the order kanjo reports them."""


def regression_metrics(y_true: Sequence[float] | np.ndarray,
                       y_pred: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """n, Pearson's r, Spearman's ρ, RMSE and MAE (in the target's units) of predictions
    [n] against targets [n], as plain JSON-ready values; a correlation is None when either
    side is constant (it is undefined there)."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    constant = len(y_true) < 2 or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0
    return {
        "n": int(len(y_true)),
        "pearson": None if constant else float(pearsonr(y_true, y_pred).statistic),
        "spearman": None if constant else float(spearmanr(y_true, y_pred).statistic),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
    }


def regression_summary(metrics: dict[str, Any]) -> str:
    """One line: Pearson · Spearman · RMSE · MAE · n."""
    def show(key: str) -> str:
        value = metrics.get(key)
        return "n/a" if value is None else f"{value:.4f}"

    return (f"Pearson {show('pearson')} · Spearman {show('spearman')} · RMSE {show('rmse')} · "
            f"MAE {show('mae')} · n={metrics['n']}")
