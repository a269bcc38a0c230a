"""The TF-IDF backend: the character n-gram baseline of :mod:`kanjo.models.tfidf`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class TfidfBackend:
    """The TF-IDF character n-gram baseline; its scores are the model's ``scores``:
    log-probabilities, per-label log-odds (multi-label) or a regression's values [n, 1]."""

    kind = "tfidf"
    max_length = None

    def __init__(self, model: Any):
        self.model = model

    @property
    def num_labels(self) -> int:
        return int(self.model.n_classes_)

    @classmethod
    def load(cls, path: Path) -> TfidfBackend:
        import json

        from kanjo.models.tfidf import CONFIG_NAME, TfidfClassifier
        from kanjo.models.tfidf_regression import ESTIMATOR, TfidfRegressor

        config = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
        regression = config.get("estimator") == ESTIMATOR
        return cls((TfidfRegressor if regression else TfidfClassifier).load(path))

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        return self.model.scores(texts), 0

    def save(self, directory: Path, labels: Any = None) -> list[str]:
        self.model.save(directory)
        return sorted(p.name for p in Path(directory).iterdir() if p.suffix == ".safetensors")
