"""Tokenisation shared by training and inference: truncation with a count of what was cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

# exact fast paths of BertJapaneseTokenizer objects (None: the configuration needs the slow one)
_FAST_JAPANESE: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
    """Token ids per text (with special tokens, truncated to ``max_length``) and the number of
    texts that were truncated."""
    texts = list(texts)
    if not texts:
        return [], 0
    if hasattr(tokenizer, "encode_batch"):  # a bare tokenizers.Tokenizer (the ONNX path)
        tokenizer.enable_truncation(max_length)
        encodings = tokenizer.encode_batch(texts)
        return [e.ids for e in encodings], sum(1 for e in encodings if e.overflowing)
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(texts, truncation=True, max_length=max_length)
        cut = sum(1 for e in enc.encodings if e.overflowing)
        return enc["input_ids"], cut
    fast = _fast_japanese(tokenizer)
    if fast is not None:
        return fast.encode_batch(texts, max_length)
    # slow tokenizers (e.g. BertJapaneseTokenizer): no overflow info, so measure then cut
    ids = tokenizer(texts, truncation=False, verbose=False)["input_ids"]
    long = [i for i, seq in enumerate(ids) if len(seq) > max_length]
    if long:
        redo = tokenizer([texts[i] for i in long], truncation=True, max_length=max_length)
        for i, seq in zip(long, redo["input_ids"], strict=True):
            ids[i] = seq
    return ids, len(long)


def _fast_japanese(tokenizer: Any) -> Any:
    """The exact fast path of a ``BertJapaneseTokenizer`` (MeCab + WordPiece), built once per
    tokenizer object and again if its settings change; None for anything else."""
    if type(tokenizer).__name__ != "BertJapaneseTokenizer":
        return None
    from kanjo.models.fast_japanese import FastJapaneseTokenizer

    fast = _FAST_JAPANESE.get(tokenizer, False)
    if fast is False or (fast is not None and not fast.is_current()):
        fast = _FAST_JAPANESE[tokenizer] = FastJapaneseTokenizer.from_slow(tokenizer)
    return fast
