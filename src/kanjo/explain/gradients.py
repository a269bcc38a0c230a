"""Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep
Networks", ICML) on the word-embedding layer of a torch model, with Captum's
``LayerIntegratedGradients``.

The path runs from a baseline in which every non-special token is the pad token to the text.
The attributed output is the target's centred, temperature-scaled logit
``(z_t − mean_c z_c) / T`` (it fixes the calibrated softmax, like a log-odds), not the
probability: a confident model's probability is flat (its gradient 0 in float32) along most of
the path, so probability attributions vanish. A text's token scores sum, up to the reported
convergence delta, to that logit at the text minus at the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kanjo.explain.tokens import Tokens, tokenize


def integrated_gradients(backend: Any, temperature: float, texts: Sequence[str],
                         targets: Sequence[int], steps: int = 20,
                         internal_batch_size: int | None = None, batch_size: int = 8
                         ) -> list[tuple[Tokens, np.ndarray, float]]:
    """Per text: its :class:`Tokens`, one score per token [n_tokens] (0 for special tokens)
    and the convergence delta. ``steps`` is the number of Riemann steps along the path;
    ``internal_batch_size`` caps the rows per forward pass (default: all ``batch × steps``);
    ``batch_size`` texts of similar length are attributed together."""
    import torch
    from captum.attr import LayerIntegratedGradients

    from kanjo.data.batching import length_sorted_batches

    model, tokenizer, device = backend.model, backend.tokenizer, backend.device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    tokens = [tokenize(tokenizer, text, backend.max_length) for text in texts]

    def centred_logits(input_ids: Any, attention_mask: Any) -> Any:
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        return (logits - logits.mean(dim=-1, keepdim=True)) / temperature

    explainer = LayerIntegratedGradients(centred_logits, model.get_input_embeddings())
    results: list[Any] = [None] * len(texts)
    for batch in length_sorted_batches([len(t.ids) for t in tokens], batch_size):
        width = max(len(tokens[i].ids) for i in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        keep = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, i in enumerate(batch):
            n = len(tokens[i].ids)
            ids[row, :n] = torch.tensor(tokens[i].ids)
            mask[row, :n] = 1
            keep[row, :n] = torch.tensor(tokens[i].special)
        baseline = torch.where(keep | (mask == 0), ids, torch.full_like(ids, pad_id))
        with torch.enable_grad():
            attributions, delta = explainer.attribute(
                ids.to(device), baselines=baseline.to(device),
                target=[int(targets[i]) for i in batch],
                additional_forward_args=(mask.to(device),), n_steps=steps,
                internal_batch_size=internal_batch_size, return_convergence_delta=True)
        scores = attributions.sum(dim=-1).detach().float().cpu().numpy()
        for row, i in enumerate(batch):
            n = len(tokens[i].ids)
            token_scores = np.where(tokens[i].special, 0.0, scores[row, :n])
            results[i] = (tokens[i], token_scores, float(delta[row]))
    return results
