"""Fitting the small-data head: class-balanced multinomial logistic regression on frozen
sentence vectors, its regularisation and its temperature chosen by cross-fitting on the
training rows themselves — no dev rows are needed, and none are tuned on.

Procedure (:func:`fit_head`), for vectors X [n, dim] and labels y [n]:

1. standardise each feature (mean 0, sd 1 over the training rows);
2. for each C in :data:`C_GRID`, out-of-fold scores from repeated stratified k-fold
   (k = min(5, rows of the rarest class), 3 repeats below 1,000 rows, else 1);
3. keep the C whose out-of-fold scores, after temperature scaling, have the lowest negative
   log-likelihood (a proper scoring rule: smoother than macro-F1 on tens of rows);
4. the temperature is the one fitted on those out-of-fold scores (Guo et al., 2017), so it is
   estimated on rows that the scoring model did not see;
5. refit on all rows; scaler and temperature are folded into one linear layer.

With fewer than 2 rows in some class, cross-fitting is impossible: C = 1 and temperature 1 are
used and ``info["cross_fitted"]`` is False.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kanjo.evaluation.calibration import fit_temperature, log_softmax
from kanjo.models.linear_head import LinearHead

C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""Inverse L2 strengths tried (sklearn's C, on standardised features)."""


def _model(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)


def _full_scores(model: Any, x: np.ndarray, k: int) -> np.ndarray:
    """Scores [n, k] over every label id, even if the model saw only some classes."""
    out = np.full((len(x), k), -1e4, dtype=np.float64)
    scores = model.decision_function(x)
    if scores.ndim == 1:  # two classes: sklearn returns the positive class's margin
        scores = np.stack([-scores / 2, scores / 2], axis=1)
    out[:, model.classes_] = scores
    return out


def _nll(scores: np.ndarray, y: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(scores, temperature)[np.arange(len(y)), y].mean())


def fit_head(vectors: np.ndarray, y: np.ndarray, num_labels: int, seed: int = 42,
             prefix: str = "", calibrate: bool = True) -> LinearHead:
    """The calibrated head for sentence vectors [n, dim] with label ids y [n] in
    ``range(num_labels)``; ``info`` holds C, temperature, folds, repeats, the out-of-fold NLL
    per C and seconds. ``calibrate=False`` still selects C but keeps temperature 1. Every
    label id should occur in ``y`` (an absent one gets a bias of -1e4)."""
    import time

    from sklearn.model_selection import RepeatedStratifiedKFold

    started = time.time()
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(y)
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd < 1e-8] = 1.0
    z = (x - mean) / sd
    rarest = int(np.bincount(y, minlength=num_labels).min())
    folds = min(5, rarest)
    info: dict[str, Any] = {"cross_fitted": folds >= 2, "C_grid": list(C_GRID)}
    c_best, temperature = 1.0, 1.0
    if folds >= 2:
        repeats = 3 if len(y) < 1000 else 1
        splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
        splits = list(splitter.split(z, y))
        nll_by_c, best = {}, None
        for c in C_GRID:
            oof, rows = [], []
            for train, held in splits:
                model = _model(c, seed).fit(z[train], y[train])
                oof.append(_full_scores(model, z[held], num_labels))
                rows.append(held)
            scores, y_oof = np.concatenate(oof), y[np.concatenate(rows)]
            t = fit_temperature(scores, y_oof)
            nll_by_c[c] = round(_nll(scores, y_oof, t), 4)
            if best is None or nll_by_c[c] < best[0]:
                best = (nll_by_c[c], c, t)
        assert best is not None
        _, c_best, temperature = best
        temperature = temperature if calibrate else 1.0
        info.update(folds=folds, repeats=repeats, oof_nll=nll_by_c)
    model = _model(c_best, seed).fit(z, y)
    weight = np.zeros((num_labels, x.shape[1]))
    bias = np.full(num_labels, -1e4)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # two classes
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2,
                                                                      intercept[0] / 2])
    weight[model.classes_], bias[model.classes_] = coef, intercept
    # logits = ((x - mean) / sd) @ W.T + b, divided by T
    folded_w = weight / sd / temperature
    folded_b = (bias - (weight / sd) @ mean) / temperature
    info.update(C=c_best, temperature=round(float(temperature), 4),
                seconds=round(time.time() - started, 2))
    return LinearHead(folded_w.astype(np.float32), folded_b.astype(np.float32), prefix,
                      "mean", info)
