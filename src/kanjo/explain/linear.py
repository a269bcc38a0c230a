"""Exact per-feature contributions of the tfidf baseline (character n-grams + logistic
regression, :mod:`kanjo.models.tfidf`).

The model's score for class c is ``z_c = Σ_j x_j · W[c, j] + b_c``. A feature's contribution
to the target t is its share of the centred score ``z_t − mean_c z_c``, which fixes the softmax
probabilities: ``x_j · (W[t, j] − mean_c W[c, j])``; for a binary model (one weight row w)
that is ``± x_j · w_j / 2``. The contributions plus the centred intercept sum exactly to the
centred score. Each n-gram's contribution is split evenly over its occurrences, each
occurrence located in the original text (the model reads it NFKC-normalised, lower-cased and
with whitespace runs collapsed, as scikit-learn's char analyzer does).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from kanjo.models.tfidf import normalize_text

_WHITE = re.compile(r"\s\s+")


def contributions(model: Any, text: str, target: int) -> list[tuple[str, int, int, float]]:
    """``(ngram, start, end, score)`` per occurrence of each vocabulary n-gram of ``text``,
    ``text[start:end]`` being what the model read as that n-gram. Shapes: the model's
    ``coef_`` is [k, V] (or [1, V] binary), ``idf_`` [V]."""
    normal, origin = _normalise_with_origins(text)
    low, high = model.ngram_range
    where: dict[int, list[tuple[int, int]]] = {}
    for n in range(low, min(high + 1, len(normal) + 1)):
        for i in range(len(normal) - n + 1):
            j = model.vocabulary_.get(normal[i:i + n])
            if j is not None:
                where.setdefault(j, []).append((origin[i][0], origin[i + n - 1][1]))
    if not where:
        return []
    features = np.fromiter(where, dtype=np.int64)
    counts = np.array([len(where[j]) for j in features], dtype=np.float64)
    tf = 1.0 + np.log(counts) if model.sublinear_tf else counts
    x = tf * model.idf_[features]
    x = x / np.linalg.norm(x)
    coef = np.asarray(model.coef_)
    if coef.shape[0] == 1:
        weight = coef[0, features] / 2.0 * (1.0 if target == 1 else -1.0)
    else:
        weight = coef[target, features] - coef[:, features].mean(axis=0)
    inverse = {i: g for g, i in model.vocabulary_.items()}
    out = []
    for j, value in zip(features, x * weight, strict=True):
        spots = where[int(j)]
        out += [(inverse[int(j)], s, e, float(value) / len(spots)) for s, e in spots]
    return sorted(out, key=lambda item: (item[1], item[2]))


def centred_intercept(model: Any, target: int) -> float:
    """The intercept's share of the centred score of ``target`` (what the n-grams do not
    explain)."""
    b = np.asarray(model.intercept_)
    if b.shape[0] == 1:
        return float(b[0] / 2.0 * (1.0 if target == 1 else -1.0))
    return float(b[target] - b.mean())


def _normalise_with_origins(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The model's view of ``text`` and, per character of it, the span of original characters
    it came from."""
    normal = normalize_text(text)
    pieces = [normalize_text(c) for c in text]
    origin: list[tuple[int, int]] = []
    if "".join(pieces) == normal:
        for i, piece in enumerate(pieces):
            origin += [(i, i + 1)] * len(piece)
    else:  # composition across characters (half-width kana + voicing mark): by prefixes
        lengths = [len(normalize_text(text[:i])) for i in range(len(text) + 1)]
        for k in range(len(normal)):
            first = next((i for i in range(len(text)) if lengths[i + 1] > k), len(text) - 1)
            end = first + 1
            while end < len(text) and lengths[end + 1] <= lengths[end]:
                end += 1  # a character that added nothing was composed into this one
            origin.append((first, end))
    # scikit-learn's char analyzer replaces each run of 2+ whitespace characters by one space
    out_chars: list[str] = []
    out_origin: list[tuple[int, int]] = []
    k = 0
    for run in _WHITE.finditer(normal):
        out_chars += normal[k:run.start()]
        out_origin += origin[k:run.start()]
        out_chars.append(" ")
        out_origin.append((origin[run.start()][0], origin[run.end() - 1][1]))
        k = run.end()
    out_chars += normal[k:]
    out_origin += origin[k:]
    return "".join(out_chars), out_origin
