"""The embedding backend: an encoder's mean-pooled sentence vectors (for a sentence pair,
:data:`~kanjo.models.sentence_encoder.PAIR_FEATURES` of both) and a linear head (the embeddings
recipe: small data, sentence-pair regressions).

Directory: a transformers model of the class
:class:`~kanjo.models.pooled_classifier.KanjoPooledClassifier` (``config.json`` with the encoder's
config, the labels and ``problem_type``; ``model.safetensors`` with ``encoder.*`` and ``head.*``,
the temperature folded into the head; ``pooled_classifier.py``, the class's code; tokenizer
files), so ``transformers.pipeline("text-classification", model=DIR, trust_remote_code=True)``
gives the same scores as kanjo. ``kanjo.json`` has ``backend: embedding``. Directories written
before that layout (the encoder as a bare ``AutoModel`` and ``head.safetensors``) still load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kanjo.models.devices import model_max_length
from kanjo.models.linear_head import HEAD_FILE, LinearHead
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

    @property
    def tokenizer(self) -> Any:
        """The encoder's tokenizer (explanations cut texts where it truncates them)."""
        return self.encoder.tokenizer

    @property
    def prefix_tokens(self) -> int:
        """Tokens the text prefix takes of :attr:`max_length` (0 without one)."""
        return len(prefix_token_ids(self.encoder.tokenizer, self.head.prefix))

    @classmethod
    def load(cls, path: Path, max_length: int | None, device: str = "auto") -> EmbeddingBackend:
        if (path / HEAD_FILE).exists():  # the layout before KanjoPooledClassifier
            head = LinearHead.load(path)
            return cls(SentenceEncoder.load(path, max_length, head.prefix, device), head)
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        from kanjo.models.pooled_classifier import KanjoPooledClassifier

        hf_logging.disable_progress_bar()
        model = KanjoPooledClassifier.from_pretrained(path)
        head = LinearHead(model.head.weight.detach().numpy().copy(),
                          model.head.bias.detach().numpy().copy(), model.config.prefix,
                          features=model.config.features)
        # the encoder's config: AutoConfig would ask whether to run the directory's code
        tokenizer = AutoTokenizer.from_pretrained(path, config=model.encoder.config)
        return cls(SentenceEncoder(model.encoder, tokenizer, model_max_length(
            model.encoder, tokenizer, max_length), head.prefix, device), head)

    def logits(self, texts: list[Any], batch_size: int) -> tuple[np.ndarray, int]:
        """Scores [n, k] of texts, or of ``(text, text_pair)`` tuples for a pair head."""
        vectors, cut = self.encoder.embed_inputs(texts, batch_size)
        return self.head.logits(vectors), cut

    def save(self, directory: Path, labels: Any) -> list[str]:
        """Write the model as a :class:`~kanjo.models.pooled_classifier.KanjoPooledClassifier`
        with ``labels``' names and ``problem_type`` in its config."""
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.transformers_model(labels).save_pretrained(directory)
        self.encoder.tokenizer.save_pretrained(directory)
        return ["model.safetensors"]

    def transformers_model(self, labels: Any) -> Any:
        """The encoder and head as one torch module, a
        :class:`~kanjo.models.pooled_classifier.KanjoPooledClassifier` (sharing the encoder's
        weights) with ``labels``' names and ``problem_type`` in its config: what is saved, and
        what an ONNX export traces."""
        import torch

        from kanjo.models.pooled_classifier import KanjoPooledClassifier, KanjoPooledConfig

        tokenizer = self.encoder.tokenizer
        config = KanjoPooledConfig(
            encoder_config=self.encoder.model.config.to_dict(), features=self.head.features,
            prefix=self.head.prefix, prefix_ids=prefix_token_ids(tokenizer, self.head.prefix),
            sep_token_id=tokenizer.sep_token_id, num_labels=self.head.num_labels,
            id2label=labels.id2label, label2id=labels.label2id,
            problem_type=labels.problem_type)
        model = KanjoPooledClassifier(config, encoder=self.encoder.model)
        with torch.no_grad():
            model.head.weight.copy_(torch.from_numpy(self.head.weight))
            model.head.bias.copy_(torch.from_numpy(self.head.bias))
        return model.eval()


def prefix_token_ids(tokenizer: Any, prefix: str) -> list[int]:
    """The tokens that ``prefix`` adds after the first token of ``tokenizer(prefix + text)``:
    [] for no prefix. With e5's sentencepiece tokenizer ``"query: "`` adds ``▁que``, ``ry``,
    ``:`` (its trailing space is the ``▁`` that starts the text's own first token)."""
    if not prefix:
        return []
    probe = "テスト"
    with_prefix = tokenizer(prefix + probe).input_ids
    alone = tokenizer(probe).input_ids
    return with_prefix[1:len(with_prefix) - len(alone) + 1]
