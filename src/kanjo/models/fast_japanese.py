"""A fast path for cl-tohoku-style tokenizers (``BertJapaneseTokenizer``: MeCab words, then
WordPiece) that yields exactly the slow tokenizer's ids.

Per text: NFKC (if the tokenizer normalises), one MeCab call through fugashi asking for the
words only (``-Owakati``), lower-casing if configured, whitespace split. Each distinct word goes
once through the Rust WordPiece of ``tokenizers``; its pieces are memoised, so a text's ids are
a concatenation done in C. Texts the fast path cannot reproduce by construction (those containing
an added or special token or a NUL, or under lower-casing a never-split word) go through the slow
tokenizer, one by one.
"""

from __future__ import annotations

import os
import re
import shlex
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import BertJapaneseTokenizer

CHUNK = 2048
"""Texts handled per round (words of one chunk are held at once)."""
CACHE_LIMIT = 1 << 17
"""Distinct words whose pieces are memoised; the memo is emptied when it would grow past this."""

_MECAB_KWARGS = {"normalize_text", "mecab_dic", "mecab_option"}
# MeCab options that only choose dictionaries: anything else (n-best, partial, all-morphs, output
# formats, ...) may change what a whole-text parse returns, so the slow path stays.
_DIC_OPTIONS = {"-d": "--dicdir", "-r": "--rcfile", "-u": "--userdic"}
# Compared with the slow tokenizer's output when the fast path is built (a last guard against a
# configuration or library version that behaves differently).
_PROBES = (
    "東京タワーの夜景は最高でした!",
    "ＡＢＣホテルの朝食ﾊﾞｲｷﾝｸﾞは１０００円です。",
    "Wi-Fiが遅い…でも staff は親切😊👍 ΣΟΦΙΑ İstanbul",
    "  部屋は\u3000広く\tて\n清潔  ",
    "ああああああああああああああああああああああああああああああああああああああああ" * 3,
    "",
)


def _mecab_args(kwargs: dict[str, Any]) -> str | None:
    """The fugashi argument string ``MecabTokenizer`` builds from ``mecab_kwargs``, or None where
    it is not one reproduced here."""
    if not set(kwargs) <= _MECAB_KWARGS:
        return None
    option = kwargs.get("mecab_option") or ""
    try:
        words = shlex.split(option)
    except ValueError:
        return None
    while words:
        flag = words.pop(0)
        if flag in _DIC_OPTIONS and words:
            words.pop(0)
        elif not any(flag.startswith(f"{long}=") for long in _DIC_OPTIONS.values()):
            return None
    dic = kwargs.get("mecab_dic", "unidic_lite")
    if dic is None:
        return option
    if dic not in ("unidic_lite", "unidic", "ipadic"):
        return None
    import importlib

    dic_dir = importlib.import_module(dic).DICDIR
    return f'-d "{dic_dir}" -r "{os.path.join(dic_dir, "mecabrc")}" ' + option


def _pattern(strings: Iterable[str]) -> re.Pattern[str]:
    """A regex finding any of ``strings`` (one that never matches if there are none)."""
    longest_first = sorted({s for s in strings if s}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, longest_first)) or "(?!)")


def _settings(tok: Any) -> tuple[Any, ...]:
    """Everything of ``tok`` the fast path depends on; a change means it must be rebuilt."""
    wt = getattr(tok, "word_tokenizer", None)
    st = getattr(tok, "subword_tokenizer", None)
    return (
        type(tok), type(wt), type(st), id(wt), id(st), tok.do_word_tokenize,
        tok.do_subword_tokenize, repr(tok.mecab_kwargs), getattr(wt, "do_lower_case", None),
        getattr(wt, "normalize_text", None), tuple(getattr(wt, "never_split", None) or ()),
        getattr(st, "unk_token", None), getattr(st, "max_input_chars_per_word", None),
        id(getattr(st, "vocab", None)), len(getattr(st, "vocab", None) or ()),
        tok.split_special_tokens, tuple(sorted(tok.added_tokens_encoder.items())),
        tuple(tok.all_special_tokens), tok.cls_token_id, tok.sep_token_id,
        tok.special_tokens_pattern,
    )


class FastJapaneseTokenizer:
    """Exact, faster ids for one ``BertJapaneseTokenizer`` (MeCab + WordPiece). Build it with
    :meth:`from_slow`; it reads the slow tokenizer (held weakly) for the rare texts it hands
    back, so keep that alive."""

    def __init__(self, tok: BertJapaneseTokenizer, tagger_args: str):
        import fugashi
        from tokenizers.models import WordPiece

        wt, st = tok.word_tokenizer, tok.subword_tokenizer
        self._ref = weakref.ref(tok)
        self._settings = _settings(tok)
        self._tagger = fugashi.GenericTagger(f"{tagger_args} -Owakati")
        self._parse = self._tagger.parse
        self._normalize = bool(wt.normalize_text)
        self._lower = bool(wt.do_lower_case)
        self._model = WordPiece(dict(st.vocab), unk_token=st.unk_token,
                                max_input_chars_per_word=st.max_input_chars_per_word)
        self._pieces: dict[str, list[int]] = {}
        self._cls, self._sep = int(tok.cls_token_id), int(tok.sep_token_id)
        specials = list(tok.all_special_tokens)
        # the slow tokenizer first splits a text on these (unless told to split special tokens);
        # MeCab stops at NUL, and its words before one differ between node and wakati output
        split_on = () if tok.split_special_tokens else chain(
            tok.added_tokens_encoder, getattr(tok.tokens_trie, "_tokens", ()), specials)
        self._raw_guard = _pattern(chain(["\x00"], split_on))
        # under lower-casing, MeCab words equal to these keep their case
        self._word_guard = _pattern(chain(wt.never_split or (), specials)) if self._lower else None

    @classmethod
    def from_slow(cls, tok: Any) -> FastJapaneseTokenizer | None:
        """The fast path for ``tok``, or None where its configuration is not one reproduced
        exactly here (character/sentencepiece subwords, Sudachi/Juman++, MeCab options other than
        dictionaries, ids of added tokens differing from the vocabulary, a subclass, ...)."""
        from transformers import BertJapaneseTokenizer
        from transformers.models.bert_japanese.tokenization_bert_japanese import (
            MecabTokenizer,
            WordpieceTokenizer,
        )

        if type(tok) is not BertJapaneseTokenizer or not (tok.do_word_tokenize
                                                          and tok.do_subword_tokenize):
            return None
        wt, st = tok.word_tokenizer, tok.subword_tokenizer
        if type(wt) is not MecabTokenizer or type(st) is not WordpieceTokenizer:
            return None
        if tok.special_tokens_pattern != "cls_sep" or None in (tok.cls_token_id, tok.sep_token_id):
            return None
        vocab, added = st.vocab, tok.added_tokens_encoder
        # the slow ids of a piece come from the added tokens first, then from the vocabulary
        if st.unk_token not in vocab or any(vocab.get(t, i) != i for t, i in added.items()):
            return None
        try:
            args = _mecab_args(dict(tok.mecab_kwargs or {}))
            fast = None if args is None else cls(tok, args)
        except (ImportError, RuntimeError, ValueError):
            return None
        if fast is None or fast._tagger.dictionary_info != wt.mecab.dictionary_info:
            return None
        if any(fast._ids(text) != tok.convert_tokens_to_ids(tok.tokenize(text))
               for text in _PROBES):
            return None
        return fast

    def is_current(self) -> bool:
        """Whether the slow tokenizer is alive and unchanged since this was built."""
        tok = self._ref()
        return tok is not None and _settings(tok) == self._settings

    def encode_batch(self, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
        """Ids per text ([CLS] … [SEP], truncated to ``max_length`` on the tokenizer's
        truncation side) and how many texts were truncated — as ``kanjo.tokenize.encode``'s slow
        path gives them."""
        tok = self._ref()
        if tok is None or _settings(tok) != self._settings:
            raise RuntimeError("the slow tokenizer is gone or changed: build the fast path again")
        left = tok.truncation_side == "left"
        out: list[list[int]] = []
        cut = 0
        for start in range(0, len(texts), CHUNK):
            for ids in self._chunk(tok, texts[start:start + CHUNK]):
                if len(ids) > max_length:
                    cut += 1
                    if max_length:  # as the slow tokenizer: drop the excess, keep [CLS]/[SEP]
                        excess, body = len(ids) - max_length, ids[1:-1]
                        body = body[excess:] if left else body[:-excess]
                        ids = [self._cls, *body, self._sep]
                out.append(ids)
        return out, cut

    def _chunk(self, tok: Any, texts: Sequence[str]) -> list[list[int]]:
        """Ids with [CLS]/[SEP] for a few thousand texts."""
        words = [self._words(text) for text in texts]
        known = self._learn(set(chain.from_iterable(w for w in words if w is not None)))
        pieces = known.__getitem__
        cls, sep = self._cls, self._sep
        return [
            [cls, *chain.from_iterable(map(pieces, w)), sep] if w is not None
            else [cls, *tok.convert_tokens_to_ids(tok.tokenize(text)), sep]
            for text, w in zip(texts, words, strict=True)
        ]

    def _words(self, text: str) -> list[str] | None:
        """The words WordPiece sees for ``text``, or None where the slow tokenizer must do it."""
        if self._raw_guard.search(text):
            return None
        if self._normalize:
            text = unicodedata.normalize("NFKC", text)
        if self._word_guard is not None and self._word_guard.search(text):
            return None
        # wakati output is the words joined by spaces; the slow WordPiece splits every word on
        # whitespace and drops empty ones, which the one split of the whole line does as well.
        # Lower-casing the line equals lower-casing each word: the spaces between words stop the
        # only context-dependent rule (final sigma) as a word boundary does.
        line = self._parse(text)
        return (line.lower() if self._lower else line).split()

    def _learn(self, words: set[str]) -> dict[str, list[int]]:
        """The memo of WordPiece ids, holding all of ``words``. A full memo is replaced, not
        emptied, so a concurrent caller keeps the one it got."""
        pieces = self._pieces
        missing = words.difference(pieces)
        if len(pieces) + len(missing) > CACHE_LIMIT:
            pieces = self._pieces = {}
            missing = words
        tokenize = self._model.tokenize
        for word in missing:
            pieces[word] = [piece.id for piece in tokenize(word)]
        return pieces

    def _ids(self, text: str) -> list[int]:
        """Ids of one text without special tokens (for the self-check)."""
        tok = self._ref()
        return self._chunk(tok, [text])[0][1:-1]
