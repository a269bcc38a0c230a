"""Tokenisation shared by training and inference: truncation with a count of what was cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
    """Token ids per text (with special tokens, truncated to ``max_length``) and the number of
    texts that were truncated."""
    texts = list(texts)
    if not texts:
        return [], 0
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(texts, truncation=True, max_length=max_length)
        cut = sum(1 for e in enc.encodings if e.overflowing)
        return enc["input_ids"], cut
    # slow tokenizers (e.g. BertJapaneseTokenizer): no overflow info, so measure then cut
    ids = tokenizer(texts, truncation=False, verbose=False)["input_ids"]
    long = [i for i, seq in enumerate(ids) if len(seq) > max_length]
    if long:
        redo = tokenizer([texts[i] for i in long], truncation=True, max_length=max_length)
        for i, seq in zip(long, redo["input_ids"], strict=True):
            ids[i] = seq
    return ids, len(long)
