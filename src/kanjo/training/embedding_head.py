"""Fitting the small-data head: class-balanced multinomial logistic regression on frozen
sentence vectors, its regularisation and its temperature chosen by cross-fitting on the
training rows themselves — no dev rows are needed, and none are tuned on.

Procedure (:func:`fit_head`), for vectors X [n, dim], labels y [n] and optionally per-row label
distributions (annotator votes) S [n, k]:

1. standardise each feature (mean 0, sd 1 over the training rows);
2. for each C in :data:`C_GRID`, fit on the training folds of a repeated stratified k-fold
   (k = min(5, rows of the rarest class); 3 repeats below 1,000 rows, else 1) and score the
   held-out fold; with S, each row enters once per label, weighted by its vote share (times the
   balanced class weight of its hard label);
3. keep the C whose out-of-fold probabilities have the lowest negative log-likelihood *as they
   are* (T = 1). Choosing C by the NLL after temperature scaling instead ran to the smallest C
   with temperatures at their 0.05 bound on 58-row JRTE pn subsets (dev ECE 0.07–0.14);
4. the temperature is fitted on those out-of-fold scores (Guo et al., 2017): rows that the
   scoring models did not see;
5. the head is the average of the fold models (bagging), whose out-of-fold scores the
   temperature was fitted on; refitting one model on all rows instead made it sharper than
   its temperature assumed (64 rows: dev ECE 0.052 ± 0.02, max 0.086, against 0.041, max 0.050
   bagged with votes; ``benchmarks/small_data.py``). Scaler, average and temperature fold into
   one linear layer.

With fewer than 2 rows in some class, cross-fitting is impossible: one model with C = 0.03 (the
usual choice at 64 rows) and temperature 1, ``info["cross_fitted"]`` False.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kanjo.evaluation.calibration import fit_temperature, log_softmax
from kanjo.models.linear_head import LinearHead

C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""Inverse L2 strengths tried (sklearn's C, on standardised features)."""
C_UNCROSSED = 0.03
"""C when cross-fitting is impossible."""


def fit_head(vectors: np.ndarray, y: np.ndarray, num_labels: int, seed: int = 42,
             prefix: str = "", calibrate: bool = True,
             soft: np.ndarray | None = None) -> LinearHead:
    """The calibrated head for sentence vectors [n, dim] with label ids y [n] in
    ``range(num_labels)`` and optional label distributions ``soft`` [n, num_labels] (rows sum
    to 1). ``info`` holds C, temperature, folds, repeats, the out-of-fold NLL per C and seconds.
    ``calibrate=False`` still selects C but keeps temperature 1. A label id absent from ``y``
    gets a bias of -1e4 (callers check that every class occurs)."""
    from threadpoolctl import threadpool_limits

    # dozens of small fits: BLAS threads cost more than they give (6x slower on 2 cores)
    with threadpool_limits(1):
        return _fit_head(vectors, y, num_labels, seed, prefix, calibrate, soft)


def _fit_head(vectors: np.ndarray, y: np.ndarray, num_labels: int, seed: int, prefix: str,
              calibrate: bool, soft: np.ndarray | None) -> LinearHead:
    import time

    from sklearn.model_selection import RepeatedStratifiedKFold

    started = time.time()
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(y)
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd < 1e-8] = 1.0
    z = (x - mean) / sd
    counts = np.bincount(y, minlength=num_labels)
    class_weight = len(y) / (num_labels * np.maximum(counts, 1))
    folds = min(5, int(counts.min()))
    info: dict[str, Any] = {"cross_fitted": folds >= 2, "C_grid": list(C_GRID),
                            "soft_labels": soft is not None}
    temperature = 1.0
    if folds < 2:
        weight, bias = _fit(z, y, soft, class_weight, C_UNCROSSED, num_labels, seed)
        c_best = C_UNCROSSED
    else:
        repeats = 3 if len(y) < 1000 else 1
        splits = list(RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats,
                                              random_state=seed).split(z, y))
        nll_by_c: dict[float, float] = {}
        best: tuple[float, float, np.ndarray, np.ndarray, list[Any]] | None = None
        for c in C_GRID:
            scores, held, models = [], [], []
            for train, rows in splits:
                w, b = _fit(z[train], y[train], None if soft is None else soft[train],
                            class_weight, c, num_labels, seed)
                models.append((w, b))
                scores.append(z[rows] @ w.T + b)
                held.append(rows)
            oof, y_oof = np.concatenate(scores), y[np.concatenate(held)]
            nll_by_c[c] = round(_nll(oof, y_oof, 1.0), 4)
            if best is None or nll_by_c[c] < best[0]:
                best = (nll_by_c[c], c, oof, y_oof, models)
        assert best is not None
        _, c_best, oof, y_oof, models = best
        if calibrate:
            temperature = fit_temperature(oof, y_oof)
        weight = np.mean([w for w, _ in models], axis=0)
        bias = np.mean([b for _, b in models], axis=0)
        prior = np.bincount(y_oof, minlength=num_labels) / len(y_oof)
        info.update(folds=folds, repeats=repeats, oof_nll=nll_by_c,
                    oof_nll_calibrated=round(_nll(oof, y_oof, temperature), 4),
                    prior_nll=round(float(-np.log(prior[y_oof]).mean()), 4))
    # logits = ((x - mean) / sd) @ W.T + b, divided by T
    folded_w = weight / sd / temperature
    folded_b = (bias - (weight / sd) @ mean) / temperature
    info.update(C=c_best, temperature=round(float(temperature), 4),
                seconds=round(time.time() - started, 2))
    return LinearHead(folded_w.astype(np.float32), folded_b.astype(np.float32), prefix,
                      "mean", info)


def _fit(z: np.ndarray, y: np.ndarray, soft: np.ndarray | None, class_weight: np.ndarray,
         c: float, num_labels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights [k, dim] and bias [k] of one multinomial logistic regression, over every label
    id (absent ones get bias -1e4). With ``soft``, row i enters once per label j with weight
    soft[i, j] × class_weight[y[i]]; else once with weight class_weight[y[i]]."""
    from sklearn.linear_model import LogisticRegression

    if soft is None:
        features, targets, weights = z, y, class_weight[y]
    else:
        n = len(z)
        targets = np.repeat(np.arange(num_labels), n)
        weights = soft.T.reshape(-1) * np.tile(class_weight[y], num_labels)
        keep = weights > 0
        features, targets, weights = np.tile(z, (num_labels, 1))[keep], targets[keep], \
            weights[keep]
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    model.fit(features, targets, sample_weight=weights)
    weight = np.zeros((num_labels, z.shape[1]))
    bias = np.full(num_labels, -1e4)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # two classes present: sklearn gives the second class's margin
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight[model.classes_], bias[model.classes_] = coef, intercept
    return weight, bias


def _nll(scores: np.ndarray, y: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(scores, temperature)[np.arange(len(y)), y].mean())


def fit_multi_label_head(vectors: np.ndarray, y: np.ndarray, seed: int = 42,
                         prefix: str = "") -> LinearHead:
    """The multi-label head (``--task multi-label``) for sentence vectors [n, dim] and
    multi-hot targets y [n, k]: one-vs-rest, a binary logistic regression per label on the
    standardised vectors, each label's C chosen from :data:`C_GRID` by the cross-validated log
    loss (scikit-learn's ``GridSearchCV``, stratified folds: min(5, the label's positives, its
    negatives); below 2, :data:`C_UNCROSSED`), then refitted on every row. No temperature:
    the logits are each label's log-odds, their sigmoid its probability. ``info`` holds C per
    label."""
    import time

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from threadpoolctl import threadpool_limits

    started = time.time()
    x = np.asarray(vectors, dtype=np.float64)
    labels = np.asarray(y) > 0.5
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd < 1e-8] = 1.0
    z = (x - mean) / sd
    weight, bias, chosen = [], [], []
    with threadpool_limits(1):  # small fits: BLAS threads cost more than they give
        for j in range(labels.shape[1]):
            target = labels[:, j]
            folds = int(min(5, target.sum(), (~target).sum()))
            model = LogisticRegression(C=C_UNCROSSED, max_iter=2000, random_state=seed)
            if folds >= 2:
                search = GridSearchCV(model, {"C": list(C_GRID)}, scoring="neg_log_loss",
                                      cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
                model = search.fit(z, target).best_estimator_
            else:
                model.fit(z, target)
            chosen.append(float(model.C))
            weight.append(model.coef_[0])
            bias.append(model.intercept_[0])
    w, b = np.asarray(weight), np.asarray(bias)
    info = {"multi_label": "one-vs-rest logistic regression", "C": chosen,
            "C_grid": list(C_GRID), "seconds": round(time.time() - started, 2)}
    # logits = ((x - mean) / sd) @ W.T + b
    return LinearHead((w / sd).astype(np.float32), (b - (w / sd) @ mean).astype(np.float32),
                      prefix, "mean", info)
