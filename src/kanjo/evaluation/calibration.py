"""Probabilities from scores, and how honest they are: softmax with a temperature, temperature
scaling (Guo et al., 2017, "On Calibration of Modern Neural Networks"), expected calibration
error (ECE) with its reliability table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def log_softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise log-probabilities of ``scores / temperature``: logits [n, k] → [n, k].

    Written in numpy, not taken from scipy.special, because the ONNX prediction path imports
    neither scipy nor torch (a cold ``kanjo predict`` of an export starts in about 0.5 s)."""
    z = np.asarray(scores) / temperature
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise probabilities of ``scores / temperature``: logits [n, k] → probabilities
    [n, k] of the same dtype, each row summing to 1."""
    return np.exp(log_softmax(scores, temperature))


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
        log_p = log_softmax(scores, float(np.exp(log_t)))
        return float(-log_p[np.arange(len(y)), y].mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))
