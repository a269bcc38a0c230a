"""The TF-IDF backend: the character n-gram baseline of :mod:`kanjo.models.tfidf`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class TfidfBackend:
    """The TF-IDF character n-gram baseline; its scores are log-probabilities (multi-label:
    each label's log-odds)."""

    kind = "tfidf"
    max_length = None

    def __init__(self, model: Any):
        self.model = model

    @property
    def num_labels(self) -> int:
        return int(self.model.n_classes_)

    @classmethod
    def load(cls, path: Path) -> TfidfBackend:
        from kanjo.models.tfidf import TfidfClassifier

        return cls(TfidfClassifier.load(path))

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        if getattr(self.model, "multi_label_", False):  # per-label log-odds: sigmoid → proba
            return self.model.decision_function(texts), 0
        return np.log(np.clip(self.model.predict_proba(texts), 1e-12, 1.0)), 0

    def save(self, directory: Path) -> list[str]:
        self.model.save(directory)
        return sorted(p.name for p in Path(directory).iterdir() if p.suffix == ".safetensors")
