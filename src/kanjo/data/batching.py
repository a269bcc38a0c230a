"""Batches of token ids: length-sorted index batches and dynamic padding.

Sorting by length keeps padding small (inference, where input order is restored by index) and
groups similar lengths for pretraining; padding each batch to its own longest row is the
collation that transformers' ``Trainer`` runs with.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

# Padded tokens (rows × longest row) per forward pass on a CPU. Measured on the default
# encoder's int8 export and its torch model (2 cores, JRTE pn sentences, benchmarks/RESULTS.md
# "Serving"): cutting passes at 512 padded tokens instead of 64 rows ran 1.2× the texts/s on a
# whole sorted file and 2× on the 32-225 texts of a server's micro-batch, where one long text
# otherwise pads 63 short ones; per-token cost also rises past ~1,000 tokens a pass (cache).
CPU_BATCH_TOKENS = 512


def length_sorted_batches(lengths: Sequence[int], batch_size: int,
                          max_tokens: int | None = None) -> list[np.ndarray]:
    """Index batches of similar length, longest first, so padding is small; together they hold
    every index exactly once. Each batch has at most ``batch_size`` rows and, when
    ``max_tokens`` is given, at most ``max_tokens`` padded tokens (rows × its longest length;
    always at least one row)."""
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    if max_tokens is None:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    batches, start = [], 0
    while start < len(order):
        rows = max(1, min(batch_size, max_tokens // max(int(lengths[order[start]]), 1)))
        batches.append(order[start:start + rows])
        start += rows
    return batches


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


def shuffled_batches(n: int, batch_size: int, epochs: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of ``epochs`` passes over ``n`` rows, each pass in a new seeded random order,
    cut into batches of ``batch_size`` (the last of a pass may be shorter)."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


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
