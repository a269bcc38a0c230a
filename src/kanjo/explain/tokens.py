"""Model tokens with character offsets into the original text, for the torch and ONNX
backends (a transformers fast tokenizer or a bare ``tokenizers.Tokenizer``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kanjo.errors import ModelError


@dataclass
class Tokens:
    """One text's token ids [n] (special tokens included), their pieces, character offsets
    ``(start, end)`` into the original text (leading whitespace trimmed; special tokens
    ``(0, 0)``), which are special, and whether the text was cut at the maximum length."""

    ids: list[int]
    pieces: list[str]
    offsets: list[tuple[int, int]]
    special: list[bool]
    truncated: bool

    @property
    def seen_end(self) -> int:
        """The character offset where the part the model saw ends."""
        return max((e for (_, e), s in zip(self.offsets, self.special, strict=True) if not s),
                   default=0)


def tokenize(tokenizer: Any, text: str, max_length: int) -> Tokens:
    """Tokens of ``text`` cut at ``max_length`` (special tokens included), as the backends
    tokenise for prediction. Raises :class:`ModelError` for a slow (Python) tokenizer, which
    has no character offsets."""
    if hasattr(tokenizer, "encode_batch"):  # tokenizers.Tokenizer (the ONNX path)
        tokenizer.enable_truncation(max_length)
        encoding = tokenizer.encode(text)
    elif getattr(tokenizer, "is_fast", False):
        encoding = tokenizer([text], truncation=True, max_length=max_length).encodings[0]
    else:
        raise ModelError(
            f"its tokenizer ({type(tokenizer).__name__}) gives no character offsets, which "
            "integrated gradients need to map tokens to words",
            hint="use --method occlusion")
    offsets = []
    for (start, end), special in zip(encoding.offsets, encoding.special_tokens_mask,
                                     strict=True):
        while not special and start < end and text[start].isspace():
            start += 1
        offsets.append((0, 0) if special else (start, end))
    return Tokens(list(encoding.ids), list(encoding.tokens), offsets,
                  [bool(s) for s in encoding.special_tokens_mask], bool(encoding.overflowing))
