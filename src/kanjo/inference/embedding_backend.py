"""The embedding backend: a frozen encoder's mean-pooled sentence vectors (for a sentence pair,
:data:`~kanjo.models.sentence_encoder.PAIR_FEATURES` of both) and a linear head (the small-data
recipe, ``kanjo train --recipe embeddings``).

Directory: the encoder as a transformers ``AutoModel`` (``config.json``, ``model.safetensors``,
tokenizer files) and ``head.safetensors`` (:class:`~kanjo.models.linear_head.LinearHead`, the
temperature folded in). ``kanjo.json`` has ``backend: embedding``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kanjo.models.linear_head import LinearHead
from kanjo.models.sentence_encoder import SentenceEncoder


class EmbeddingBackend:
    """Scores = head(encoder(texts)): [n, k] logits, already calibrated."""

    kind = "embedding"

    def __init__(self, encoder: SentenceEncoder, head: LinearHead):
        dim = encoder.dim * (1 if head.features == "text" else 4)
        if head.weight.shape[1] != dim:
            raise ValueError(f"the head takes {head.weight.shape[1]}-dimensional vectors, the "
                             f"encoder gives {dim} ({head.features})")
        self.encoder = encoder
        self.head = head

    @property
    def max_length(self) -> int:
        return self.encoder.max_length

    @property
    def num_labels(self) -> int:
        return self.head.num_labels

    @classmethod
    def load(cls, path: Path, max_length: int | None, device: str = "auto") -> EmbeddingBackend:
        head = LinearHead.load(path)
        return cls(SentenceEncoder.load(path, max_length, head.prefix, device), head)

    def logits(self, texts: list[Any], batch_size: int) -> tuple[np.ndarray, int]:
        """Scores [n, k] of texts, or of ``(text, text_pair)`` tuples for a pair head."""
        vectors, cut = self.encoder.embed_inputs(texts, batch_size)
        return self.head.logits(vectors), cut

    def save(self, directory: Path) -> list[str]:
        weights = self.encoder.save(directory)
        return weights + [self.head.save(directory)]
