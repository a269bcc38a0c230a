"""The typed results of :func:`kanjo.explain.explain`: one :class:`Explanation` per text."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class WordAttribution:
    """One MeCab word (fugashi + unidic-lite) of the original text and its signed score.

    ``text[start:end] == word`` (character offsets into the text as given, before any
    normalisation). A positive score pushed the model towards the explained label."""

    word: str
    start: int
    end: int
    score: float


@dataclass
class Explanation:
    """Why a model gave ``text`` its label.

    ``probability`` is the model's (temperature-calibrated) probability of ``target``.
    ``words`` covers every word the model saw, in text order. ``pieces`` holds the units the
    method scored, each ``{"piece", "start", "end", "score"}`` with character offsets: model
    tokens for integrated gradients, words for occlusion, character n-gram occurrences for
    tfidf. ``truncated`` is true when the text was longer than the model's maximum length and
    its tail was not seen (its words are left out). ``delta`` is the integrated-gradients
    convergence delta (sum of attributions minus the difference of the attributed output
    between input and baseline; near 0 means enough steps), None for other methods.

    Score units: integrated gradients and tfidf, the target's centred logit (log-odds-like;
    ``z_t − mean_c z_c``, temperature-scaled for IG); occlusion, calibrated probability."""

    text: str
    label: str
    target: str
    probability: float
    method: str
    words: list[WordAttribution]
    pieces: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    delta: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the fields above, ``words`` as a list of dicts."""
        return asdict(self)

    def ranked(self) -> list[WordAttribution]:
        """The words, highest score first."""
        return sorted(self.words, key=lambda w: -w.score)
