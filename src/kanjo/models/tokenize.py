"""Tokenisation shared by training and inference: truncation with a count of what was cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

# exact fast paths of BertJapaneseTokenizer objects (None: the configuration needs the slow one)
_FAST_JAPANESE: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def encode(tokenizer: Any, texts: Sequence[str] | Sequence[tuple[str, str]],
           max_length: int) -> tuple[list[list[int]], int]:
    """Token ids per text (with special tokens, truncated to ``max_length``) and the number of
    texts that were truncated. ``texts`` may be ``(text, text_pair)`` tuples: each is then
    encoded as the tokenizer's pair input (``[CLS] a [SEP] b [SEP]``, ``<s> a </s></s> b
    </s>``), truncated longest-first."""
    ids, _, cut = encode_inputs(tokenizer, texts, max_length)
    return ids, cut


def is_pairs(texts: Sequence[Any]) -> bool:
    """Whether ``texts`` are ``(text, text_pair)`` tuples (judged by the first one)."""
    return bool(texts) and isinstance(texts[0], tuple | list)


def encode_inputs(tokenizer: Any, texts: Sequence[str] | Sequence[tuple[str, str]],
                  max_length: int) -> tuple[list[list[int]], list[list[int]] | None, int]:
    """:func:`encode` with the segment ids: (ids per text, ``token_type_ids`` per text or
    None, truncated count). Segment ids come back for pairs only, and only from a tokenizer
    that makes them (BERT: 0 for ``[CLS] a [SEP]``, 1 for ``b [SEP]``; XLM-R has none): a
    single text's segment ids are all 0, which is what a model assumes without them."""
    texts = list(texts)
    if not texts:
        return [], None, 0
    pairs = is_pairs(texts)
    if pairs:
        texts = [tuple(t) for t in texts]
    if hasattr(tokenizer, "encode_batch"):  # a bare tokenizers.Tokenizer (the ONNX path)
        tokenizer.enable_truncation(max_length)
        encodings = tokenizer.encode_batch(texts)
        types = [e.type_ids for e in encodings] if pairs else None
        if types is not None and not any(any(t) for t in types):
            types = None  # the tokenizer has no segments (XLM-R, e5)
        return [e.ids for e in encodings], types, sum(1 for e in encodings if e.overflowing)
    segments = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    args = ([t[0] for t in texts], [t[1] for t in texts]) if pairs else (texts,)
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(*args, truncation=True, max_length=max_length)
        cut = sum(1 for e in enc.encodings if e.overflowing)
        types = enc.get("token_type_ids") if pairs and segments else None
        return enc["input_ids"], types, cut
    fast = _fast_japanese(tokenizer) if not pairs else None
    if fast is not None:
        ids, cut = fast.encode_batch(texts, max_length)
        return ids, None, cut
    # slow tokenizers (e.g. BertJapaneseTokenizer): no overflow info, so measure then cut
    enc = tokenizer(*args, truncation=False, verbose=False)
    ids = enc["input_ids"]
    types = enc.get("token_type_ids") if pairs and segments else None
    long = [i for i, seq in enumerate(ids) if len(seq) > max_length]
    if long:
        again = ([args[0][i] for i in long], [args[1][i] for i in long]) if pairs \
            else ([texts[i] for i in long],)
        redo = tokenizer(*again, truncation=True, max_length=max_length)
        for n, i in enumerate(long):
            ids[i] = redo["input_ids"][n]
            if types is not None:
                types[i] = redo["token_type_ids"][n]
    return ids, types, len(long)


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
