"""MeCab words with character offsets, and scores of other units (tokens, n-grams) summed
onto them.

Japanese has no spaces, so model pieces (SentencePiece ``▁``, WordPiece ``##``) cannot be
merged into words by their markers. Words come from fugashi with unidic-lite instead, located
in the original text by their surfaces; any unit with character offsets (a token, an n-gram)
spreads its score evenly over its characters, and a word's score is the sum over its
characters, so scores split exactly where a unit straddles two words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_TAGGER: Any = None


def word_spans(text: str) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` character offsets of the MeCab words of ``text``, in order;
    whitespace (ideographic spaces included) belongs to no word. ``text[start:end]`` is each
    word's surface."""
    global _TAGGER
    if _TAGGER is None:
        import fugashi

        _TAGGER = fugashi.Tagger()
    spans, cursor = [], 0
    for word in _TAGGER(text):
        surface = word.surface
        if not surface.strip():  # MeCab makes ideographic spaces (U+3000) words of their own
            continue
        start = text.find(surface, cursor)
        if start < 0:  # MeCab changed the surface (never seen): skip it, keep the order
            continue
        spans.append((start, start + len(surface)))
        cursor = start + len(surface)
    return spans


def spread(length: int, units: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """Per-character scores [length]: each ``(start, end, score)`` unit spread evenly over its
    characters (zero-width units are dropped)."""
    chars = np.zeros(length, dtype=np.float64)
    for start, end, score in units:
        if end > start:
            chars[start:end] += score / (end - start)
    return chars


def word_scores(text: str, spans: Sequence[tuple[int, int]], chars: np.ndarray,
                limit: int | None = None) -> list[dict[str, Any]]:
    """``{"word", "start", "end", "score"}`` per span from per-character scores; spans that
    start at or after ``limit`` (the end of what a truncating model saw) are left out."""
    return [{"word": text[s:e], "start": s, "end": e, "score": float(chars[s:e].sum())}
            for s, e in spans if limit is None or s < limit]
