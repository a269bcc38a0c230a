"""Masked-LM training data: sentences as token ids (with word ids for whole-word masking), the
held-out split, and the masking itself (BERT's 80/10/10 recipe; Devlin et al., 2019)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kanjo.data.batching import length_sorted_batches


@dataclass
class Encoded:
    """Token ids of sentences, with word ids per token for whole-word masking."""

    ids: list[list[int]]
    words: list[list[int]] | None = None


def heldout_split(n: int, eval_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) row indices: a seeded random ``min(eval_size, n // 10)`` held out."""
    order = np.random.default_rng(seed).permutation(n)
    k = min(eval_size, n // 10)
    return np.sort(order[k:]), np.sort(order[:k])


def encode_texts(tokenizer: Any, texts: list[str], max_length: int,
                 whole_word: bool = False) -> Encoded:
    """Token ids (with special tokens, truncated); with ``whole_word`` also a word id per token
    (-1 for special tokens) from fugashi word boundaries, or from WordPiece ``##`` marks for a
    tokenizer without offsets (BertJapaneseTokenizer already splits words with MeCab)."""
    from kanjo.models.tokenize import encode

    if not whole_word:
        return Encoded(encode(tokenizer, texts, max_length)[0])
    special = set(tokenizer.all_special_ids)
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(texts, truncation=True, max_length=max_length,
                        return_offsets_mapping=True)
        words = [_words_from_offsets(text, ids, offsets, special)
                 for text, ids, offsets in zip(texts, enc["input_ids"], enc["offset_mapping"],
                                               strict=True)]
        return Encoded(enc["input_ids"], words)
    ids = encode(tokenizer, texts, max_length)[0]
    words = []
    for seq in ids:
        row, word = [], -1
        for token_id, token in zip(seq, tokenizer.convert_ids_to_tokens(seq), strict=True):
            if token_id in special:
                row.append(-1)
                continue
            if not token.startswith("##") or word < 0:
                word += 1
            row.append(word)
        words.append(row)
    return Encoded(ids, words)


_TAGGER: Any = None


def _word_starts(text: str) -> list[int]:
    """Character offsets where fugashi (unidic-lite) words start."""
    global _TAGGER
    if _TAGGER is None:
        import fugashi

        _TAGGER = fugashi.Tagger()
    starts, pos = [], 0
    for word in _TAGGER(text):
        found = text.find(word.surface, pos)
        if found < 0:
            continue
        starts.append(found)
        pos = found + len(word.surface)
    return starts


def _words_from_offsets(text: str, ids: list[int], offsets: list[tuple[int, int]],
                        special: set[int]) -> list[int]:
    starts = np.asarray(_word_starts(text) or [0])
    row = []
    for token_id, (begin, end) in zip(ids, offsets, strict=True):
        if token_id in special:
            row.append(-1)
        elif end <= begin:  # a bare word-start piece ('▁'): belongs to the next word
            row.append(-2)
        else:
            row.append(int(np.searchsorted(starts, begin, side="right")) - 1)
    for i in range(len(row) - 2, -1, -1):
        if row[i] == -2:
            row[i] = row[i + 1] if row[i + 1] >= 0 else len(starts)
    return [len(starts) if w == -2 else w for w in row]


@dataclass
class MaskedBatch:
    input_ids: Any  # LongTensor [B, T]
    attention_mask: Any  # LongTensor [B, T]
    positions: Any  # BoolTensor [B, T]: the tokens to predict
    labels: Any  # LongTensor [n]: their original ids


class Masker:
    """Pads a batch and chooses the tokens to predict: ``mask_prob`` of each sentence's
    ordinary tokens (at least one), single tokens or whole words; of those 80 % become the mask
    token, 10 % a random token and 10 % stay (``replace=False``: all become the mask)."""

    def __init__(self, tokenizer: Any, mask_prob: float, vocab_size: int):
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.mask_id = tokenizer.mask_token_id
        self.special = sorted(set(tokenizer.all_special_ids))
        self.mask_prob = mask_prob
        self.vocab_size = vocab_size

    def __call__(self, ids: list[list[int]], words: list[list[int]] | None, generator: Any,
                 replace: bool = True) -> MaskedBatch:
        import torch

        width = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(ids), width), dtype=torch.long)
        for i, seq in enumerate(ids):
            input_ids[i, :len(seq)] = torch.tensor(seq)
            attention[i, :len(seq)] = 1
        ordinary = attention.bool() & ~torch.isin(input_ids, torch.tensor(self.special))
        if words is None:
            chosen = (torch.rand(input_ids.shape, generator=generator) < self.mask_prob)
            chosen &= ordinary
            # every sentence predicts at least one token
            empty = ~chosen.any(dim=1) & ordinary.any(dim=1)
            if empty.any():
                noise = torch.rand(input_ids.shape, generator=generator).masked_fill(
                    ~ordinary, -1.0)
                pick = noise.argmax(dim=1)
                rows = empty.nonzero().squeeze(1)
                chosen[rows, pick[rows]] = True
        else:
            chosen = self._whole_words(words, input_ids.shape, generator)
        labels = input_ids[chosen]
        masked = input_ids.clone()
        if replace:
            roll = torch.rand(labels.shape, generator=generator)
            random_ids = torch.randint(self.vocab_size, labels.shape, generator=generator)
            values = torch.where(roll < 0.8, torch.full_like(labels, self.mask_id),
                                 torch.where(roll < 0.9, random_ids, labels))
        else:
            values = torch.full_like(labels, self.mask_id)
        masked[chosen] = values
        return MaskedBatch(masked, attention, chosen, labels)

    def _whole_words(self, words: list[list[int]], shape: Any, generator: Any) -> Any:
        import torch

        chosen = torch.zeros(shape, dtype=torch.bool)
        for i, row in enumerate(words):
            by_word: dict[int, list[int]] = {}
            for position, word in enumerate(row):
                if word >= 0:
                    by_word.setdefault(word, []).append(position)
            if not by_word:
                continue
            budget = max(1, round(self.mask_prob * sum(map(len, by_word.values()))))
            keys = list(by_word)
            taken = 0
            for j in torch.randperm(len(keys), generator=generator).tolist():
                if taken >= budget:
                    break
                positions = by_word[keys[j]]
                chosen[i, positions] = True
                taken += len(positions)
        return chosen


def heldout_batches(masker: Masker, encoded: Encoded, seed: int,
                    batch_size: int = 64) -> list[MaskedBatch]:
    """Fixed evaluation batches: the same tokens masked (all by the mask token) every time."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    out = []
    for index in length_sorted_batches([len(x) for x in encoded.ids], batch_size):
        words = [encoded.words[i] for i in index] if encoded.words is not None else None
        out.append(masker([encoded.ids[i] for i in index], words, generator, replace=False))
    return out
