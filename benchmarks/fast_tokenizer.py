"""The fast MeCab + WordPiece path against ``BertJapaneseTokenizer``: identical ids, and speed.

On all sentences of jrte-unlabeled (CC BY-NC-SA, read in place, never copied): a WordPiece
vocabulary is trained here with the ``tokenizers`` trainer on the MeCab words of those sentences
(the hub is out of reach, so no cl-tohoku vocabulary), the slow tokenizer and the fast path
encode every sentence, the mismatching sentences are counted, and both are timed (best and median
of interleaved runs; the fast path is rebuilt for every run, so its word memo starts empty).

    python benchmarks/fast_tokenizer.py [--data PATH] [--repeats N] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from results import RESULTS, replace_section  # noqa: E402  (benchmarks/ is on sys.path)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "jrte-unlabeled" / "sentences.txt"
SECTION = "## Fast Japanese tokenizer"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# (dictionary, requested vocabulary size, alphabet limit): cl-tohoku v2/v3 use unidic(-lite) and
# v1 ipadic, with 32k pieces; the small one also exercises sub-word pieces and [UNK]
SETUPS = [("unidic_lite", 32000, None), ("ipadic", 32000, None), ("unidic_lite", 4000, 1000)]


def read_sentences(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def tokenizer(dic: str, vocab: Path) -> Any:
    from transformers import BertJapaneseTokenizer

    return BertJapaneseTokenizer(str(vocab), word_tokenizer_type="mecab",
                                 subword_tokenizer_type="wordpiece",
                                 mecab_kwargs={"mecab_dic": dic})


def train_vocab(sentences: list[str], dic: str, size: int, alphabet: int | None,
                out: Path) -> Path:
    """A WordPiece vocabulary trained on the MeCab words (as the tokenizer splits them)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    mecab = tokenizer(dic, write_vocab(out / "seed.txt", SPECIALS)).word_tokenizer
    lines = (" ".join(mecab.tokenize(s)) for s in sentences)
    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    options = {"limit_alphabet": alphabet} if alphabet else {}
    trainer = trainers.WordPieceTrainer(vocab_size=size, special_tokens=SPECIALS,
                                        show_progress=False, **options)
    wordpiece.train_from_iterator(lines, trainer)
    vocab = wordpiece.get_vocab()
    return write_vocab(out / f"vocab-{dic}-{size}.txt", sorted(vocab, key=vocab.__getitem__))


def write_vocab(path: Path, pieces: list[str]) -> Path:
    path.write_text("\n".join(pieces) + "\n", encoding="utf-8")
    return path


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(sentences: list[str], dic: str, vocab: Path, repeats: int) -> dict[str, Any]:
    from kanjo.models.fast_japanese import FastJapaneseTokenizer
    from kanjo.models.tokenize import encode

    tok = tokenizer(dic, vocab)
    fast = FastJapaneseTokenizer.from_slow(tok)
    assert fast is not None, "the fast path should cover this configuration"
    row: dict[str, Any] = {"dic": dic, "vocab": len(tok.vocab), "n": len(sentences)}
    full = tok(sentences)["input_ids"]
    row["pieces"] = sum(len(x) - 2 for x in full)
    row["unk"] = sum(x.count(tok.unk_token_id) for x in full)
    for max_length in (512, 64):
        want = tok(sentences, truncation=True, max_length=max_length)["input_ids"]
        want_cut = sum(len(x) > max_length for x in full)
        ids, cut = fast.encode_batch(sentences, max_length)
        auto, auto_cut = encode(tok, sentences, max_length)  # the automatic path in kanjo
        row[f"mismatch_{max_length}"] = sum(a != b for a, b in zip(ids, want, strict=True))
        row[f"auto_mismatch_{max_length}"] = sum(a != b for a, b in zip(auto, want, strict=True))
        row[f"cut_{max_length}"] = want_cut
        assert cut == auto_cut == want_cut, (cut, auto_cut, want_cut)
    slow_s, fast_s = [], []
    for _ in range(repeats):  # interleaved, so both see the same load on a shared machine
        slow_s.append(timed(lambda: tok(sentences, truncation=True, max_length=512)))
        fast_s.append(timed(
            lambda: FastJapaneseTokenizer.from_slow(tok).encode_batch(sentences, 512)))
    for name, secs in (("slow", slow_s), ("fast", fast_s)):
        row[f"{name}_best"] = len(sentences) / min(secs)
        row[f"{name}_median"] = len(sentences) / statistics.median(secs)
    row["ratio_best"] = row["fast_best"] / row["slow_best"]
    row["ratio_median"] = row["fast_median"] / row["slow_median"]
    return row


def report(rows: list[dict[str, Any]], repeats: int) -> str:
    from importlib.metadata import version

    n = rows[0]["n"]
    lines = [
        SECTION,
        "",
        f"`python benchmarks/fast_tokenizer.py --record`: all {n:,} sentences of jrte-unlabeled. "
        "`BertJapaneseTokenizer` (MeCab via fugashi, WordPiece in Python) against "
        "`kanjo.fast_japanese.FastJapaneseTokenizer` (one fugashi wakati parse per text, the "
        "Rust WordPiece of `tokenizers` once per distinct word), on WordPiece vocabularies "
        "trained here on the MeCab words of the same sentences (32k requested; the corpus "
        "saturates the trainer below that). Mismatches: sentences whose ids differ, without "
        "truncation (max_length 512) and with it (64). Speed: sentences/s at max_length 512, "
        f"best / median of {repeats} interleaved runs, the fast path rebuilt per run (empty "
        "word memo).",
        "",
        "| dictionary | vocab | pieces / [UNK] | mismatches 512 / 64 (via `encode`) "
        "| slow sent/s | fast sent/s | fast ÷ slow |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dic']} | {r['vocab']:,} | {r['pieces']:,} / {r['unk']:,} "
            f"| {r['mismatch_512']} / {r['mismatch_64']} "
            f"({r['auto_mismatch_512']} / {r['auto_mismatch_64']}) "
            f"| {r['slow_best']:,.0f} / {r['slow_median']:,.0f} "
            f"| {r['fast_best']:,.0f} / {r['fast_median']:,.0f} "
            f"| **{r['ratio_best']:.1f}×** / {r['ratio_median']:.1f}× |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += [
        "",
        f"Python {platform.python_version()}, transformers {version('transformers')}, tokenizers "
        f"{version('tokenizers')}, fugashi {version('fugashi')}; {os.cpu_count()} CPU cores "
        f"shared with other work (load average {load:.1f} at the end). "
        f"{rows[0]['cut_64']:,} of the sentences are truncated at 64.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()

    sentences = read_sentences(args.data)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dic, size, alphabet in SETUPS:
            try:
                __import__(dic)
            except ImportError:
                print(f"skipping {dic}: not installed (pip install 'kanjo[{dic}]')",
                      file=sys.stderr)
                continue
            vocab = train_vocab(sentences, dic, size, alphabet, Path(tmp))
            rows.append(measure(sentences, dic, vocab, args.repeats))
            print(rows[-1], flush=True)
    section = report(rows, args.repeats)
    print(section)
    if args.record:
        replace_section(section)
    if any(r["mismatch_512"] or r["mismatch_64"] or r["auto_mismatch_512"]
           or r["auto_mismatch_64"] for r in rows):
        sys.exit("mismatching ids")


if __name__ == "__main__":
    main()
