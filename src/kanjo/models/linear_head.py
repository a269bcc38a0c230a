"""A linear classification head over sentence vectors: ``logits = x @ weight.T + bias``.

Standardisation and the calibration temperature are folded into the weights when the head is
fitted (:mod:`kanjo.training.embedding_head`), so every consumer of the saved head sees the same
calibrated scores. A model directory keeps it inside the transformers model
(:class:`~kanjo.models.pooled_classifier.KanjoPooledClassifier`'s ``head.*``); directories of
the earlier layout hold it as ``head.safetensors`` (no pickle, the encoder's prefix and pooling in
the file's metadata), which :meth:`LinearHead.load` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.models.sentence_encoder import PAIR_FEATURES

HEAD_FILE = "head.safetensors"


@dataclass
class LinearHead:
    """``weight`` [k, dim] and ``bias`` [k] (float32); ``prefix`` is prepended to every text
    before encoding; ``features`` is ``"text"`` (one sentence vector, dim = the encoder's) or
    :data:`~kanjo.models.sentence_encoder.PAIR_FEATURES` (a sentence pair, dim = 4 × the
    encoder's); ``info`` records how the head was chosen (not saved)."""

    weight: np.ndarray
    bias: np.ndarray
    prefix: str = ""
    pooling: str = "mean"
    info: dict[str, Any] = field(default_factory=dict)
    features: str = "text"

    @property
    def num_labels(self) -> int:
        return int(self.weight.shape[0])

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        """Scores [n, k] of sentence vectors [n, dim]."""
        return (np.asarray(vectors, dtype=np.float32) @ self.weight.T + self.bias).astype(
            np.float32)

    def save(self, directory: Path) -> str:
        """Write ``head.safetensors`` into ``directory``; returns its name."""
        from safetensors.numpy import save_file

        save_file({"weight": np.ascontiguousarray(self.weight, dtype=np.float32),
                   "bias": np.ascontiguousarray(self.bias, dtype=np.float32)},
                  str(Path(directory) / HEAD_FILE),
                  metadata={"prefix": self.prefix, "pooling": self.pooling,
                            "features": self.features})
        return HEAD_FILE

    @classmethod
    def load(cls, directory: Path) -> LinearHead:
        """Read ``head.safetensors``; ValueError when its shapes or pooling do not fit."""
        from safetensors import safe_open

        with safe_open(str(Path(directory) / HEAD_FILE), framework="numpy") as handle:
            meta = handle.metadata() or {}
            weight, bias = handle.get_tensor("weight"), handle.get_tensor("bias")
        if weight.ndim != 2 or bias.shape != (weight.shape[0],):
            raise ValueError(f"{HEAD_FILE} has weight {weight.shape} and bias {bias.shape}")
        if meta.get("pooling", "mean") != "mean":
            raise ValueError(f"{HEAD_FILE} names an unknown pooling {meta['pooling']!r}")
        features = meta.get("features", "text")
        if features not in ("text", PAIR_FEATURES):
            raise ValueError(f"{HEAD_FILE} names unknown features {features!r}")
        return cls(weight, bias, meta.get("prefix", ""), "mean", features=features)
