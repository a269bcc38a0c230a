"""Why a text got its label: word-level attributions (integrated gradients, occlusion, exact
tfidf contributions) on MeCab words with character offsets into the original text."""

from kanjo.explain.api import METHODS, explain
from kanjo.explain.result import Explanation, WordAttribution

__all__ = ["METHODS", "Explanation", "WordAttribution", "explain"]
