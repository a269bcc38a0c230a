"""Rows whose given label looks wrong: confident learning (Northcutt, Jiang & Chuang 2021,
"Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 70) with cleanlab.

Takes out-of-fold probabilities (each row scored by a model that never trained on it; see
:func:`kanjo.training.cross_validation.cross_validate`): in-sample probabilities would have
memorised the very labels under suspicion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kanjo.errors import KanjoError


@dataclass
class LabelIssue:
    """One suspect row: its index into the rows given, the given and the suggested label id
    (the most probable out-of-fold class), and cleanlab's label-quality score in [0, 1] (the
    self-confidence, i.e. the out-of-fold probability of the given label; lower = more
    suspicious)."""

    index: int
    given: int | tuple[int, ...]
    """A label id; multi-label: the ids of the given label set."""
    suggested: int | tuple[int, ...]
    """The most probable class; multi-label: the labels with out-of-fold probability ≥ 0.5."""
    quality: float


def find_label_issues(labels: Sequence[int] | np.ndarray, proba: np.ndarray,
                      n_jobs: int | None = 1) -> list[LabelIssue]:
    """The rows cleanlab's ``find_label_issues`` flags (``filter_by="prune_by_noise_rate"``),
    most suspicious first (ranked by self-confidence). ``labels``: [n] ids ``0..k-1``;
    ``proba``: [n, k] out-of-fold probabilities. Multi-hot ``labels`` [n, k] (multi-label,
    ``proba`` then per-label probabilities) use cleanlab's multi-label mode. Raises
    :class:`KanjoError` when the shapes disagree or a class has no rows."""
    from cleanlab.filter import find_label_issues as cleanlab_find
    from cleanlab.rank import get_label_quality_scores

    p = np.asarray(proba, dtype=np.float64)
    if np.ndim(labels) == 2:
        return _multi_label_issues(np.asarray(labels) > 0.5, p, n_jobs)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise KanjoError(f"labels {y.shape} and probabilities {p.shape} do not match: "
                         "expected [n] and [n, k]")
    if len(y) == 0:
        return []
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise KanjoError(f"label ids must lie in 0..{p.shape[1] - 1}")
    missing = sorted(set(range(p.shape[1])) - set(y.tolist()))
    if missing:
        raise KanjoError(f"classes {missing} have no rows: confident learning needs every "
                         "class")
    p = p / p.sum(axis=1, keepdims=True)
    flagged = cleanlab_find(labels=y, pred_probs=p, return_indices_ranked_by="self_confidence",
                            n_jobs=n_jobs)
    quality = get_label_quality_scores(y, p, method="self_confidence")
    return [LabelIssue(int(i), int(y[i]), int(p[i].argmax()), float(quality[i]))
            for i in flagged]


def _multi_label_issues(y: np.ndarray, p: np.ndarray, n_jobs: int | None) -> list[LabelIssue]:
    """cleanlab's multi-label confident learning (``cleanlab.multilabel_classification``'s
    ``find_label_issues`` and ``get_label_quality_scores``) on label sets
    ``y`` [n, k] (bool) and per-label out-of-fold probabilities ``p`` [n, k]."""
    from cleanlab.multilabel_classification import get_label_quality_scores
    from cleanlab.multilabel_classification.filter import find_label_issues as cleanlab_find

    if p.shape != y.shape:
        raise KanjoError(f"label sets {y.shape} and probabilities {p.shape} do not match")
    if len(y) == 0:
        return []
    sets = [np.flatnonzero(row).tolist() for row in y]
    flagged = cleanlab_find(labels=sets, pred_probs=p,
                            return_indices_ranked_by="self_confidence", n_jobs=n_jobs)
    quality = get_label_quality_scores(sets, p)
    return [LabelIssue(int(i), tuple(sets[i]), tuple(np.flatnonzero(p[i] >= 0.5).tolist()),
                       float(quality[i])) for i in flagged]
