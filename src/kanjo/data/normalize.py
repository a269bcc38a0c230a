"""The one text normalisation of kanjo: Unicode NFKC, for every model and every path.

Training, evaluation and prediction all pass texts through :func:`normalize_text` before a
model sees them, so ``ＷｉＦｉ``/``WiFi``, ``ﾍﾞｯﾄﾞ``/``ベッド`` and ``７``/``7`` are one input. A
trained model records it as ``"text_normalization": "NFKC"`` in its ``kanjo.json``; a model
without that key (trained before it existed, or a plain transformers directory) gets its texts
unchanged. Source: Unicode Standard Annex #15 (Normalization Forms), via :mod:`unicodedata`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

NORMALIZATION = "NFKC"


def normalize_text(text: str) -> str:
    """``text`` in Unicode normalisation form NFKC (compatibility composition): full-width
    Latin and digits become ASCII, half-width katakana become full-width with their voicing
    marks composed (``ﾍﾞ`` → ``ベ``), ``①`` → ``1``, ``㈱`` → ``(株)``; idempotent."""
    return unicodedata.normalize(NORMALIZATION, text)


def normalize_texts(texts: Sequence[str]) -> tuple[list[str], int]:
    """Every text normalised, and how many of them it changed."""
    out = [normalize_text(text) for text in texts]
    return out, sum(a != b for a, b in zip(texts, out, strict=True))


_INTEGRAL_DECIMAL = re.compile(r"([+-]?\d+)\.0*")
"""An integer written as a decimal (``1.0``, ``2.``, ``-1.00``): how pandas and spreadsheets
write an integer column that has a blank cell in it."""


def fold_label(name: str) -> str:
    """The key under which two label spellings are one label: NFKC, case-folded (then NFKC
    again, as Unicode's NFKC_Casefold does), invisible format characters (zero-width spaces,
    BOMs: category Cf) removed and runs of whitespace (ideographic spaces included) collapsed
    to one space, trimmed; an integer written as a decimal is that integer. ``Positive``,
    `` positive ``, ``ｐｏｓｉｔｉｖｅ`` and ``POSITIVE`` fold to ``positive``; ``ﾎﾟｼﾞ`` to
    ``ポジ``; ``1.0`` and ``１`` to ``1``. Hiragana and katakana are not folded together (``ぽじ``
    and ``ポジ`` stay apart): they can be different words."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    text = " ".join("".join(c for c in text if unicodedata.category(c) != "Cf").split())
    integral = _INTEGRAL_DECIMAL.fullmatch(text)
    return str(int(integral.group(1))) if integral else text
