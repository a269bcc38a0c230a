"""An embeddings-recipe model as a transformers model: an encoder's mean-pooled, L2-normalised
sentence vectors and a linear head, as ``AutoModelForSequenceClassification`` loads it.

kanjo's embeddings recipe (small data, sentence-pair regressions) saves this class:
``config.json`` (model type ``kanjo-pooled``, the encoder's own config inside it, and an
``auto_map`` naming this file), ``model.safetensors`` (``encoder.*`` and ``head.*``) and this
file, copied next to them as transformers' remote-code convention wants (``custom_object_save``).
So ``transformers.pipeline("text-classification", model=DIR, trust_remote_code=True)`` returns
the model's own scores, and without ``trust_remote_code`` transformers refuses to load it
instead of putting a randomly initialised classification head on the encoder.

This file is run by transformers from the model directory, without kanjo installed: it imports
only torch and transformers.

Inputs are the tokenizer's (right-padded) ``input_ids`` and ``attention_mask``:

* ``prefix_ids`` (the e5 ``"query: "`` prefix as tokens) are inserted after the first token,
  which gives the tokens of ``prefix + text`` that kanjo encodes;
* a pair model (``features`` not ``"text"``) reads the tokenizer's pair encoding (``[CLS] a [SEP] b
  [SEP]``, ``<s> a </s></s> b </s>``), splits it at the separator and encodes both texts alone:
  the head sees ``[u, v, |u − v|, u ⊙ v]`` of their vectors (Conneau et al. 2017, InferSent;
  Reimers & Gurevych 2019, Sentence-BERT).

Logits are [batch, num_labels]: softmax gives class probabilities (the temperature is folded in),
a sigmoid per label the multi-label probabilities, and a regression's one column is the value.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of ``hidden`` [batch, tokens, dim] over the real tokens of ``attention_mask``
    [batch, tokens]: [batch, dim], not normalised (e5's pooling). Differentiable."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def sentence_vectors(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """kanjo's sentence vectors: :func:`mean_pool` of the encoder's last hidden states
    [batch, tokens, dim] (in float32), L2-normalised: [batch, dim]."""
    return torch.nn.functional.normalize(mean_pool(hidden.float(), attention_mask), dim=-1)


class KanjoPooledConfig(PretrainedConfig):
    """``encoder_config``: the encoder's ``config.json`` as a dict; ``features``: ``"text"``
    (one sentence vector) or ``"u,v,|u-v|,u*v"`` (a sentence pair); ``prefix``: the text prefix
    kanjo prepends (e5's ``"query: "``), whose tokens ``prefix_ids`` are inserted after the first
    token; ``sep_token_id``: the tokenizer's separator (splits a pair)."""

    model_type = "kanjo-pooled"

    def __init__(self, encoder_config: dict[str, Any] | None = None, features: str = "text",
                 prefix: str = "", prefix_ids: list[int] | None = None,
                 sep_token_id: int | None = None, **kwargs: Any):
        self.encoder_config = dict(encoder_config or {})
        self.features = features
        self.prefix = prefix
        self.prefix_ids = list(prefix_ids or [])
        self.sep_token_id = sep_token_id
        kwargs.setdefault("pad_token_id", self.encoder_config.get("pad_token_id"))
        super().__init__(**kwargs)


class KanjoPooledClassifier(PreTrainedModel):
    """``head(normalize(mean_pool(encoder(text))))``, or the head of both texts' pair features."""

    config_class = KanjoPooledConfig
    base_model_prefix = "encoder"

    def __init__(self, config: KanjoPooledConfig, encoder: Any = None):
        super().__init__(config)
        if encoder is None:
            settings = dict(config.encoder_config)
            encoder_config = AutoConfig.for_model(settings.pop("model_type"), **settings)
            try:
                encoder = AutoModel.from_config(encoder_config, add_pooling_layer=False)
            except TypeError:  # architectures without a pooler argument
                encoder = AutoModel.from_config(encoder_config)
        self.encoder = encoder
        width = encoder.config.hidden_size * (1 if config.features == "text" else 4)
        self.head = torch.nn.Linear(width, config.num_labels)
        self.post_init()

    def _init_weights(self, module: Any) -> None:
        """Nothing to initialise: every weight comes from the checkpoint."""

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Unit-length mean-pooled vectors [batch, hidden] of single-text token ids
        [batch, length] (with the first token, before the prefix goes in)."""
        batch = input_ids.shape[0]
        if self.config.prefix_ids:
            prefix = torch.tensor(self.config.prefix_ids, dtype=input_ids.dtype,
                                  device=input_ids.device).expand(batch, -1)
            input_ids = torch.cat([input_ids[:, :1], prefix, input_ids[:, 1:]], dim=1)
            attention_mask = torch.cat([attention_mask[:, :1], torch.ones_like(prefix),
                                        attention_mask[:, 1:]], dim=1)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return sentence_vectors(hidden.last_hidden_state, attention_mask)

    def _split_pairs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor
                     ) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """The pair encoding of each row → two single-text batches ``[first] a [sep]`` and
        ``[first] b [sep]`` (ids, mask), right-padded."""
        sep, pad = self.config.sep_token_id, self.config.pad_token_id or 0
        firsts, seconds = [], []
        for ids, mask in zip(input_ids.tolist(), attention_mask.tolist(), strict=True):
            ids = [t for t, m in zip(ids, mask, strict=True) if m]
            seps = [i for i, t in enumerate(ids) if t == sep]
            if len(seps) < 2:
                raise ValueError("this model scores sentence pairs: call it with "
                                 "{'text': first, 'text_pair': second}")
            start = seps[0] + 1
            while start < seps[-1] and ids[start] == sep:  # <s> a </s></s> b </s>
                start += 1
            firsts.append(ids[:seps[0] + 1])
            seconds.append(ids[:1] + ids[start:seps[-1] + 1])
        return tuple(_padded(rows, pad, input_ids.device) for rows in (firsts, seconds))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_: Any) -> SequenceClassifierOutput:
        """Logits [batch, num_labels] of the tokenizer's ``input_ids`` [batch, length]
        (token type ids are not needed: a pair is split at its separator)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if self.config.features != "text":
            (a, a_mask), (b, b_mask) = self._split_pairs(input_ids, attention_mask)
            u, v = self.embed(a, a_mask), self.embed(b, b_mask)
            vectors = torch.cat([u, v, (u - v).abs(), u * v], dim=-1)
        else:
            vectors = self.embed(input_ids, attention_mask)
        return SequenceClassifierOutput(logits=self.head(vectors))


def _padded(rows: list[list[int]], pad: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long, device=device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, :len(row)] = 1
    return ids, mask


KanjoPooledConfig.register_for_auto_class()
KanjoPooledClassifier.register_for_auto_class("AutoModelForSequenceClassification")
