"""Batches of token ids: length-sorted index batches and dynamic padding.

Sorting by length keeps padding small (inference, where input order is restored by index) and
groups similar lengths for pretraining; padding each batch to its own longest row is the
collation that transformers' ``Trainer`` runs with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches [≤ batch_size] of similar length, longest first, so padding is small;
    together they hold every index exactly once."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def length_grouped_batches(lengths: np.ndarray, batch_size: int,
                           rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of index batches: shuffled, sorted by length within chunks of 50 batches (so
    padding is small), the batches in random order."""
    order = rng.permutation(len(lengths))
    chunk = 50 * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        batches += [part[b] for b in length_sorted_batches(lengths[part], batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` [len(rows), longest row] (int64), right-padded."""
    input_ids = np.full((len(rows), max(map(len, rows))), pad_id, dtype=np.int64)
    mask = np.zeros_like(input_ids)
    for r, seq in enumerate(rows):
        input_ids[r, :len(seq)] = seq
        mask[r, :len(seq)] = 1
    return input_ids, mask


class Collator:
    """Dynamic padding for ``Trainer``: each batch of ``{"input_ids"[, "token_type_ids"],
    "labels"[, "soft_labels"]}`` rows is padded to its own longest row with the tokenizer's pad
    token (and pad segment id)."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        keys = ("input_ids", "token_type_ids") if "token_type_ids" in rows[0] else ("input_ids",)
        batch = self.tokenizer.pad({key: [r[key] for r in rows] for key in keys},
                                   return_tensors="pt")
        batch["labels"] = torch.tensor([r["labels"] for r in rows])
        if "soft_labels" in rows[0]:
            batch["soft_labels"] = torch.tensor(np.stack([r["soft_labels"] for r in rows]))
        return dict(batch)
