"""Occlusion: each word removed in turn, every variant of a text scored in one batch.

A word's score is p(target | text) − p(target | text without that word), in calibrated
probability; it needs nothing but predictions, so it works for every backend (torch, ONNX
exports, tfidf). Words past a truncating model's maximum length are left out (removing them
changes nothing the model sees).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kanjo.evaluation.calibration import softmax
from kanjo.explain.words import word_spans


def occlusion(backend: Any, temperature: float, texts: Sequence[str], targets: Sequence[int],
              limits: Sequence[int | None], max_batch: int = 256,
              probabilities: Callable[[np.ndarray], np.ndarray] | None = None
              ) -> list[list[tuple[int, int, float]]]:
    """Per text, ``(start, end, score)`` per MeCab word starting before ``limits[i]`` (the end
    of what the model saw; None = everything). The unoccluded text and its variants go through
    the backend as one batch (``max_batch`` rows at most, to bound memory on long texts).
    ``probabilities`` maps scores [n, k] to probabilities (the classifier's own, e.g. a
    multi-label model's sigmoids); default the softmax at ``temperature``."""
    out = []
    for text, target, limit in zip(texts, targets, limits, strict=True):
        spans = [(s, e) for s, e in word_spans(text) if limit is None or s < limit]
        variants = [text] + [text[:s] + text[e:] for s, e in spans]
        scores, _ = backend.logits(variants, min(len(variants), max_batch))
        scores = np.asarray(scores, dtype=np.float64)
        p = (probabilities(scores) if probabilities is not None
             else softmax(scores, temperature))[:, target]
        out.append([(s, e, float(p[0] - p[j + 1])) for j, (s, e) in enumerate(spans)])
    return out
