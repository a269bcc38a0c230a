"""Shared fixtures: tiny real models built here (no hub, no mocks) and small data files."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
JRTE_PN = SHARED / "jrte-pn" / "pn.train-dev.tsv"
UNLABELED = SHARED / "jrte-unlabeled" / "sentences.txt"

SUBJECTS = ["部屋", "朝食", "夕食", "温泉", "スタッフ", "ベッド", "眺め", "接客", "大浴場", "立地",
            "料理", "サービス", "ロビー", "フロント", "露天風呂", "駐車場"]
POSITIVE = ["は最高でした", "がとても良かった", "は素晴らしい", "に大満足です", "が快適でした",
            "が本当に良い", "は最高に良かった"]
NEGATIVE = ["は最悪でした", "がとても悪かった", "はひどい", "に不満です", "が汚かった",
            "が本当に悪い", "は最悪に悪かった"]
NEUTRAL = ["は二階にあります", "は十時までです", "の場所は駅の近くです", "は予約制です",
           "は別料金です", "は一階です", "の時間は決まっています"]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the `kanjo` command in-process: (exit code, stdout, stderr)."""
    from kanjo.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def toy_rows(n_per_class: int = 40, seed: int = 0, neutral: bool = True) -> list[tuple[str, str]]:
    """A separable three-class toy sentiment set (positive/negative words decide the label)."""
    rng = random.Random(seed)
    classes = [("positive", POSITIVE), ("negative", NEGATIVE)]
    if neutral:
        classes.append(("neutral", NEUTRAL))
    rows = []
    for label, endings in classes:
        for _ in range(n_per_class):
            rows.append((f"{rng.choice(SUBJECTS)}{rng.choice(endings)}。", label))
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[tuple[str, str]], split: list[str] | None = None) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"] + (["split"] if split else []))
        for i, (text, label) in enumerate(rows):
            writer.writerow([text, label] + ([split[i]] if split else []))
    return path


@pytest.fixture(scope="session")
def toy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 training rows and 60 dev rows, marked in a split column."""
    rows = toy_rows(40, seed=0) + toy_rows(20, seed=1)
    split = ["train"] * 120 + ["dev"] * 60
    return write_csv(tmp_path_factory.mktemp("data") / "toy.csv", rows, split)


def _corpus() -> list[str]:
    rows = toy_rows(60, seed=3)
    extra = ["こんにちは、私はモデルです。", "このホテルは駅から近い。", "東京の天気は晴れです。"]
    return [text for text, _ in rows] + extra


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT masked LM with a WordPiece vocabulary trained here on toy Japanese text."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast, set_seed

    directory = tmp_path_factory.mktemp("tiny-bert")
    wordpiece = BertWordPieceTokenizer(handle_chinese_chars=True, strip_accents=False,
                                       lowercase=False)
    wordpiece.train_from_iterator(_corpus(), vocab_size=400, min_frequency=1)
    tokenizer = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer, do_lower_case=False,
                                  model_max_length=128)
    tokenizer.save_pretrained(directory)
    set_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, max_position_embeddings=128,
                        pad_token_id=tokenizer.pad_token_id)
    BertForMaskedLM(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_japanese_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT with a cl-tohoku-style tokenizer: MeCab (fugashi + unidic-lite) words, then
    WordPiece over a vocabulary built here from those words."""
    from collections import Counter

    import fugashi
    from transformers import BertConfig, BertForMaskedLM, BertJapaneseTokenizer, set_seed

    directory = tmp_path_factory.mktemp("tiny-ja-bert")
    tagger = fugashi.Tagger()
    words = Counter(w.surface for text in _corpus() for w in tagger(text))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(words)
    chars = sorted({c for w in words for c in w})
    vocab += [f"##{c}" for c in chars if f"##{c}" not in vocab] + [c for c in chars
                                                                  if c not in vocab]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertJapaneseTokenizer(
        str(directory / "vocab.txt"), word_tokenizer_type="mecab",
        subword_tokenizer_type="wordpiece", mecab_kwargs={"mecab_dic": "unidic_lite"},
        model_max_length=128,
    )
    tokenizer.save_pretrained(directory)
    set_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, max_position_embeddings=128)
    BertForMaskedLM(config).save_pretrained(directory)
    return directory
