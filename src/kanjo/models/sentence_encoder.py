"""Sentence embeddings from a frozen encoder: the mean of the last hidden states over the real
tokens, L2-normalised — the pooling that ``intfloat/multilingual-e5-*`` are trained with
(Wang et al., 2022, "Text Embeddings by Weakly-Supervised Contrastive Pre-training"; e5 ignores
the pooler and the ``<s>`` vector).

e5 expects a task prefix: ``"query: "`` for symmetric tasks such as classification. The prefix is
a parameter and is recorded with the model, so training and prediction always agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kanjo.data.batching import length_sorted_batches
from kanjo.models.devices import batch_tokens, model_max_length, select_device

E5_PREFIX = "query: "
"""The e5 task prefix for classification and other symmetric tasks (the e5 model card)."""

PAIR_FEATURES = "u,v,|u-v|,u*v"
"""How a sentence pair becomes one vector: both texts' vectors u and v, their absolute
difference and their element-wise product, concatenated [4 × dim] (Conneau et al., 2017,
"Supervised Learning of Universal Sentence Representations from Natural Language Inference
Data", InferSent; Reimers & Gurevych, 2019, Sentence-BERT). On JNLI (5-fold cross-validation of
valid) kanjo's head on them scores macro-F1 0.705 (0.711 fitted on all of each fold's rows; on
|u-v| and u*v alone 0.679)."""


def pair_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:data:`PAIR_FEATURES` of the vectors u, v [n, dim] of both texts: [n, 4 × dim]."""
    return np.hstack([u, v, np.abs(u - v), u * v]).astype(np.float32)


class SentenceEncoder:
    """A frozen transformers encoder (``AutoModel``) and its tokenizer, giving one L2-normalised
    mean-pooled vector per text."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int, prefix: str = "",
                 device: str = "auto"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.prefix = prefix
        self.device = select_device(device)
        self.model.to(self.device)

    @property
    def dim(self) -> int:
        """Vector size (the encoder's hidden size)."""
        return int(self.model.config.hidden_size)

    @classmethod
    def load(cls, location: str | Path, max_length: int | None = None, prefix: str = "",
             device: str = "auto") -> SentenceEncoder:
        """The encoder of a transformers directory (a bare encoder, a masked LM or a classifier:
        only the base model is kept). Loader errors propagate; callers wrap them."""
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "newly initialised pooler": never used here
        try:
            model = AutoModel.from_pretrained(location, add_pooling_layer=False)
        except TypeError:  # architectures without a pooler argument
            model = AutoModel.from_pretrained(location)
        finally:
            hf_logging.set_verbosity(verbosity)
        tokenizer = AutoTokenizer.from_pretrained(location)
        return cls(model, tokenizer, model_max_length(model, tokenizer, max_length), prefix,
                   device)

    def embed(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, int]:
        """Vectors [n, dim] float32 (unit L2 norm) in input order, and how many texts were
        truncated to ``max_length`` tokens."""
        import torch

        ids, cut = self.token_ids(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], batch_size,
                                               batch_tokens(self.device)):
                out[batch] = self.pooled([ids[i] for i in batch]).cpu().numpy()
        return out, cut

    def token_ids(self, texts: list[str]) -> tuple[list[list[int]], int]:
        """Each text's token ids with the prefix (truncated to ``max_length``), and how many
        texts were truncated."""
        from kanjo.models.tokenize import encode

        return encode(self.tokenizer, [self.prefix + t for t in texts], self.max_length)

    def pooled(self, ids: list[list[int]]) -> Any:
        """The unit-length mean-pooled vectors [batch, dim] (a float32 torch tensor on the
        encoder's device) of one batch of token ids (:meth:`token_ids`), padded here.
        Differentiable: fine-tuning (``kanjo.training.encoder_tuning``,
        ``kanjo.training.similarity_tuning``) trains through it."""
        from kanjo.models.pooled_classifier import sentence_vectors

        padded = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
        padded = {k: v.to(self.device) for k, v in padded.items()}
        hidden = self.model(**padded).last_hidden_state
        return sentence_vectors(hidden, padded["attention_mask"])

    def embed_inputs(self, inputs: list[Any], batch_size: int = 64) -> tuple[np.ndarray, int]:
        """:meth:`embed` for texts; for ``(text, text_pair)`` tuples the
        :func:`pair_features` [n, 4 × dim] of both texts' vectors. Returns the vectors and how
        many texts were truncated to ``max_length`` tokens (a pair's two texts count apart)."""
        if not inputs or not isinstance(inputs[0], tuple):
            return self.embed(inputs, batch_size)
        u, cut_u = self.embed([a for a, _ in inputs], batch_size)
        v, cut_v = self.embed([b for _, b in inputs], batch_size)
        return pair_features(u, v), cut_u + cut_v

    def save(self, directory: Path) -> list[str]:
        """Write the encoder (``model.safetensors``, ``config.json``) and tokenizer files;
        returns the weight file names."""
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        return ["model.safetensors"]
