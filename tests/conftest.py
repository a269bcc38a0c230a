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


# How the tests train tiny models from random initialisation on the toy set. With 12 epochs at
# lr 5e-3 and no warm-up, about one training seed in three left positive and negative merged
# (dev macro-F1 about 0.55); with 10 % warm-up and 30 epochs at 3e-3, eight seeds out of eight
# reached ≥ 0.98 (and 20 epochs, four of four ≥ 0.96). The toy sets are small, so `recipe: auto`
# would train the embeddings recipe: TINY asks for fine-tuning, which these tests exercise.
TINY = dict(recipe="finetune", epochs=30, lr=3e-3, batch_size=16, warmup=0.1,
            freeze_embeddings=False, early_stopping=0, min_steps=0)


def cli_flags(options: dict) -> list[str]:
    """`kanjo train` flags for keyword options, e.g. TINY."""
    flags = []
    for key, value in options.items():
        name = key.replace("_", "-")
        flags += [f"--{name}" if value else f"--no-{name}"] if isinstance(value, bool) else [
            f"--{name}", str(value)]
    return flags


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


def write_wordpiece_vocab(directory: Path, words: set[str]) -> Path:
    """A WordPiece vocab.txt of the special tokens, every word, and every character alone and
    as a continuation. Built by hand, not trained: a trained vocabulary breaks frequency ties
    differently in each process, and the tiny models' results with it."""
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(words)
    vocab += [f"##{c}" for c in chars] + [c for c in chars if c not in words]
    path = directory / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT masked LM (:func:`build_tiny_bert`)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def build_tiny_bert(directory: Path) -> Path:
    """Write a tiny BERT masked LM (2 layers, hidden size 64, seeded) with a WordPiece
    vocabulary of the toy Japanese text's words (BERT's basic tokenisation: CJK ideographs are
    words of one character) into the existing ``directory``; returns it."""
    from tokenizers import normalizers, pre_tokenizers
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast, set_seed

    normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, strip_accents=False,
                                            lowercase=False)
    splitter = pre_tokenizers.BertPreTokenizer()
    words = {w for text in _corpus()
             for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text))}
    vocab = write_wordpiece_vocab(directory, words)
    pieces = vocab.read_text(encoding="utf-8").splitlines()
    tokenizer = BertTokenizerFast(vocab={p: i for i, p in enumerate(pieces)}, do_lower_case=False,
                                  tokenize_chinese_chars=True, strip_accents=False,
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
    import fugashi
    from transformers import BertConfig, BertForMaskedLM, BertJapaneseTokenizer, set_seed

    directory = tmp_path_factory.mktemp("tiny-ja-bert")
    tagger = fugashi.Tagger()
    vocab = write_wordpiece_vocab(directory, {w.surface for text in _corpus()
                                              for w in tagger(text)})
    tokenizer = BertJapaneseTokenizer(
        str(vocab), word_tokenizer_type="mecab",
        subword_tokenizer_type="wordpiece", mecab_kwargs={"mecab_dic": "unidic_lite"},
        model_max_length=128,
    )
    tokenizer.save_pretrained(directory)
    set_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, max_position_embeddings=128)
    BertForMaskedLM(config).save_pretrained(directory)
    return directory


# A tiny model whose decision hinges on one known word (explain and report tests)
KEY = "温泉"


def key_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Two subjects and an ending, all drawn alike for both labels, except that in "onsen"
    rows one subject is 温泉: that one word decides the label."""
    rng = random.Random(seed)
    others = [s for s in SUBJECTS if s != KEY]
    rows = []
    for i in range(n):
        subjects = rng.sample(others, 2)
        if i % 2:
            subjects[rng.randrange(2)] = KEY
        ending = rng.choice(POSITIVE + NEGATIVE + NEUTRAL)
        rows.append((f"{subjects[0]}と{subjects[1]}{ending}。", "onsen" if i % 2 else "other"))
    return rows


@pytest.fixture(scope="session")
def key_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 60 dev rows: enough for checkpoint selection and a temperature (≥ 50)
    return write_csv(tmp_path_factory.mktemp("key") / "key.csv", key_rows(160, seed=5),
                     ["train"] * 100 + ["dev"] * 60)


@pytest.fixture(scope="session")
def key_models(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path,
               key_csv: Path) -> dict[str, Path]:
    """The tiny BERT fine-tuned on the key-word data, its fp32 ONNX export, a tfidf model and
    an embeddings-recipe model (the tiny BERT's pooled vectors, LP-FT)."""
    import kanjo
    from kanjo.export.onnx import export

    root = tmp_path_factory.mktemp("key-models")
    torch_model = kanjo.train(key_csv, root / "torch", model=str(tiny_bert),
                              **dict(TINY, epochs=10))
    assert torch_model.meta["dev_metrics"]["macro_f1"] == 1.0
    kanjo.train(key_csv, root / "tfidf", model="tfidf")
    export(root / "torch", root / "onnx")
    kanjo.train(key_csv, root / "embedding", model=str(tiny_bert), recipe="embeddings")
    return {"torch": root / "torch", "onnx": root / "onnx", "tfidf": root / "tfidf",
            "embedding": root / "embedding"}


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, toy_csv: Path) -> Path:
    """The tiny BERT fine-tuned on the toy set with the TINY recipe (a torch model directory)."""
    import kanjo

    out = tmp_path_factory.mktemp("runs") / "model"
    kanjo.train(toy_csv, out, model=str(tiny_bert), **TINY)
    return out


@pytest.fixture(scope="session")
def exports(trained: Path) -> dict[str, Path]:
    """fp32 and int8 exports of the trained tiny model, through the command line."""
    from kanjo.cli import main

    paths = {}
    for name, extra in (("fp32", []), ("int8", ["--quantize", "int8"]),
                        ("int8-blockwise", ["--quantize", "int8-blockwise"])):
        paths[name] = trained.parent / f"onnx-{name}"
        main(["export", str(trained), "--out", str(paths[name]), *extra])
    return paths
