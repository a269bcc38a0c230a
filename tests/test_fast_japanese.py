"""The fast MeCab + WordPiece path gives exactly BertJapaneseTokenizer's ids (real tokenizers,
vocabularies built here), and ``kanjo.tokenize.encode`` uses it on its own."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kanjo.models.fast_japanese import FastJapaneseTokenizer
from kanjo.models.tokenize import _FAST_JAPANESE, encode

SENTENCES = [
    "部屋はとても広くて清潔でした。",
    "朝食バイキングの種類が豊富で、特に和食が美味しかったです!",
    "ﾌﾛﾝﾄのｽﾀｯﾌさんの対応がﾋﾟｶｲﾁでした",  # half-width katakana
    "ＷｉＦｉが１００Ｍｂｐｓ出ていて快適。",  # full-width Latin and digits
    "Wi-Fi が遅い…でも staff は Very Good でした 😊👍🏽",
    "家族👨‍👩‍👧で泊まりました🇯🇵✨",
    "料金は1泊2食付きで12,800円(税込)、駐車場は500円/日。",
    "チェックインは15:00〜、チェックアウトは10:00です。",
    "ΣΟΦΙΑ と İstanbul と Straße の大文字小文字。",
    "①②③ ㍻ ℡ ½ ﬁ Ⅻ などの互換文字。",
    "𠮷野家と髙島屋と﨑が近い。",  # characters outside the vocabularies
    "한국어와 Русский と العربية も混ざる。",
    "ア" * 130,  # MeCab groups at most 24 unknown characters into a word: long words come from
    "Supercalifragilisticexpialidocious" * 4,  # max_input_chars_per_word = 4 below
    "ー" * 140,
    "  部屋は\u3000\u3000広く\t\tて\n\n清潔  ",
    " \t\u3000\n ",
    "",
    "\u200b見えない\ufeff文字\u2028と\x1cも\x85あり。",
    "カ\u3099タカナの濁点と e\u0301 の結合文字。",
    "[CLS] や [MASK] を本文に書いても[SEP]大丈夫。",
    "［ＣＬＳ］は全角なので NFKC の後で [CLS] になる。",
    "NULのあと\x00は MeCab に届かない。",
    "最高でー\x00\x1e)",  # MeCab's node and wakati outputs differ before a NUL
    "!!!???。。。、、、・・・",
    "良かった!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
]

PHRASES = ["東京タワー", "温泉", "露天風呂", "朝食", "夕食", "バイキング", "スタッフ", "フロント",
           "Wi-Fi", "コスパ", "駅", "徒歩5分", "部屋", "ベッド", "眺め", "接客", "大浴場", "駐車場"]
ENDINGS = ["は最高でした。", "が少し残念でした。", "に大満足です!", "が近くて便利です。",
           "はまあまあ。", "がとても良かったです😊", "は改善してほしい…", "はVery Goodでした"]
# characters picked at random to make texts nobody would write
POOL = list("東京タワーの夜景は最高でした。ﾊﾞｲｷﾝｸﾞＡＢＣａｂｃ１２３abcXYZ ΣΟΦΙΑσς İıß①㍻½™…〜ｰ・!?#")
POOL += ["\x00", "\t", "\n", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\u200b",
         "\ufeff", "\u0301", "\u3099", "\ufe0f", "😊", "👍🏽", "👨‍👩‍👧", "𠮷", "\ue000", "[CLS]",
         "[UNK]", "[MASK]", "[unk]", "##", "［ＳＥＰ］"]


def own_texts(n: int = 400, seed: int = 0) -> list[str]:
    """Sentences of the phrases above, then random character soup."""
    rng = random.Random(seed)
    texts = [f"{rng.choice(PHRASES)}{rng.choice(ENDINGS)}{rng.choice(PHRASES)}{rng.choice(ENDINGS)}"
             for _ in range(n // 2)]
    texts += ["".join(rng.choice(POOL) for _ in range(rng.randint(0, 30))) for _ in range(n // 2)]
    return SENTENCES + texts


def slow_encode(tok: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
    """What BertJapaneseTokenizer itself gives: ids truncated, and how many were cut."""
    full = tok(list(texts))["input_ids"]
    cut = tok(list(texts), truncation=True, max_length=max_length)["input_ids"]
    return cut, sum(len(ids) > max_length for ids in full)


def assert_identical(tok: Any, texts: Sequence[str], lengths: Sequence[int] = (2, 3, 16, 512)
                     ) -> None:
    fast = FastJapaneseTokenizer.from_slow(tok)
    assert fast is not None
    for max_length in lengths:
        ids, cut = fast.encode_batch(texts, max_length)
        want, want_cut = slow_encode(tok, texts, max_length)
        bad = [text for text, a, b in zip(texts, ids, want, strict=True) if a != b]
        assert not bad, (max_length, bad[:3])
        assert cut == want_cut


@pytest.fixture(scope="module")
def own_vocab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WordPiece vocabulary trained here on MeCab words of the sentences above, with a small
    alphabet so that rare characters are unknown and long words split into pieces."""
    import fugashi
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tagger = fugashi.Tagger()
    lines = [" ".join(w.surface for w in tagger(text)) for text in own_texts(2000, seed=1)]
    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordPieceTrainer(
        vocab_size=600, limit_alphabet=150,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    wordpiece.train_from_iterator(lines, trainer)
    vocab = wordpiece.get_vocab()
    path = tmp_path_factory.mktemp("own-vocab") / "vocab.txt"
    path.write_text("\n".join(sorted(vocab, key=vocab.__getitem__)) + "\n", encoding="utf-8")
    return path


def japanese(vocab: Path, **kwargs: Any) -> Any:
    from transformers import BertJapaneseTokenizer

    kwargs = {"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "unidic_lite"},
              **kwargs}
    return BertJapaneseTokenizer(str(vocab), **kwargs)


def test_identical_on_the_tiny_japanese_bert(tiny_japanese_bert: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_japanese_bert)
    assert type(tok).__name__ == "BertJapaneseTokenizer"
    assert_identical(tok, own_texts())


def test_identical_on_a_vocabulary_built_here(own_vocab: Path) -> None:
    tok = japanese(own_vocab)
    pieces = tok.tokenize("".join(SENTENCES))
    assert "[UNK]" in pieces and any(p.startswith("##") for p in pieces), "a testing vocabulary"
    assert_identical(tok, own_texts(1000, seed=2))


@pytest.mark.parametrize("options", [
    {"do_lower_case": True},
    {"do_lower_case": True, "never_split": ["ΣΟΦΙΑ", "Wi"]},
    {"mecab_kwargs": {"mecab_dic": "unidic_lite", "normalize_text": False}},
    {"truncation_side": "left"},
    {"split_special_tokens": True},
    {"mecab_kwargs": {"mecab_dic": "ipadic"}},
    {"mecab_kwargs": {"mecab_dic": "ipadic"}, "do_lower_case": True},
], ids=["lower", "never-split", "no-nfkc", "left", "split-special", "ipadic", "ipadic-lower"])
def test_identical_across_options(own_vocab: Path, options: dict[str, Any]) -> None:
    if options.get("mecab_kwargs", {}).get("mecab_dic") == "ipadic":
        pytest.importorskip("ipadic")
    assert_identical(japanese(own_vocab, **options), own_texts(300, seed=3))


def test_identical_with_added_tokens_and_short_words(own_vocab: Path) -> None:
    tok = japanese(own_vocab)
    tok.add_tokens(["東京タワー", "コスパ"])
    tok.add_special_tokens({"additional_special_tokens": ["<extra>"]})
    tok.subword_tokenizer.max_input_chars_per_word = 4
    texts = own_texts(300, seed=4) + ["<extra>東京タワーはコスパ最高<extra>", "東京タワーa"]
    assert_identical(tok, texts)


def test_configurations_not_reproduced_stay_slow(own_vocab: Path) -> None:
    from transformers import BertJapaneseTokenizer

    class Custom(BertJapaneseTokenizer):
        pass

    unsupported = [
        japanese(own_vocab, subword_tokenizer_type="character"),
        japanese(own_vocab, mecab_kwargs={"mecab_dic": "unidic_lite", "mecab_option": "-N 2"}),
        BertJapaneseTokenizer(str(own_vocab), word_tokenizer_type="basic"),
        Custom(str(own_vocab), word_tokenizer_type="mecab"),
    ]
    texts = own_texts(100, seed=5)
    for tok in unsupported:
        assert FastJapaneseTokenizer.from_slow(tok) is None
        assert encode(tok, texts, 16) == slow_encode(tok, texts, 16)


def test_encode_uses_the_fast_path_on_its_own(tiny_japanese_bert: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_japanese_bert)
    texts = own_texts(200, seed=6)
    assert encode(tok, texts, 8) == slow_encode(tok, texts, 8)
    fast = _FAST_JAPANESE[tok]
    assert isinstance(fast, FastJapaneseTokenizer)
    assert encode(tok, texts, 512) == slow_encode(tok, texts, 512)
    assert _FAST_JAPANESE[tok] is fast, "built once per tokenizer"

    # a changed tokenizer: the old fast path refuses, encode builds a new one
    tok.add_tokens(["最高でした"])
    assert not fast.is_current()
    with pytest.raises(RuntimeError):
        fast.encode_batch(texts, 8)
    texts.append("温泉は最高でした。")
    assert encode(tok, texts, 8) == slow_encode(tok, texts, 8)
    assert _FAST_JAPANESE[tok] is not fast and _FAST_JAPANESE[tok].is_current()
