"""The hostile-input corpus: files that break naive readers, each with the outcome it must have
under `kanjo train`, `evaluate`, `predict` and `cv`.

Every file is generated here (nothing copied from shared data). ``python -m tests.hostile_corpus
DIR`` writes the corpus to DIR; tests/test_hostile_corpus.py runs each file through each
command. An outcome is either exit 0 (with the rows, texts or warning it must have) or exit 2
with the words (and line) the message must name; the test also checks that no traceback is
printed and that a failed command leaves no output behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

COMMANDS = ("train", "evaluate", "predict", "cv")
LABELS = ("positive", "negative", "neutral")
STEMS = {"positive": "部屋が広くて快適でした", "negative": "部屋が狭くて最悪でした",
         "neutral": "部屋は二階にあります"}


@dataclass(frozen=True)
class Outcome:
    """exit 0: ``rows`` (train: train + dev rows; evaluate/cv: n; predict: output rows),
    ``texts`` (predict output, exactly) and ``warn`` (words stderr must hold); exit 2: the
    ``mentions`` the message must hold and the ``line`` it must name."""

    exit: int
    rows: int | None = None
    texts: tuple[str, ...] | None = None
    warn: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    line: int | None = None


def ok(rows: int | None = None, texts: list[str] | None = None, warn: tuple[str, ...] = ()
       ) -> Outcome:
    return Outcome(0, rows, tuple(texts) if texts is not None else None, warn)


def refused(*mentions: str, line: int | None = None) -> Outcome:
    return Outcome(2, mentions=mentions, line=line)


@dataclass(frozen=True)
class Hostile:
    """One corpus file: its name, what it holds, how to write it, and the outcome per
    command (a command not listed has ``default``)."""

    name: str
    holds: str
    write: Callable[[Path], None]
    default: Outcome
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def outcome(self, command: str) -> Outcome:
        return self.outcomes.get(command, self.default)


def rows(n: int = 5, labels: tuple[str, ...] = LABELS) -> list[list[str]]:
    """``n`` distinct texts per label, interleaved, as [text, label] lists."""
    return [[f"{STEMS.get(label, '部屋の感想')}。その{i}", label] for i in range(n)
            for label in labels]


def table_text(table: list[list[str]], delimiter: str = ",", header: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow(["text", "label"])
    writer.writerows(table)
    return buffer.getvalue()


def _text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content.encode(encoding))


def _bytes(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def _jsonl(records: list[object]) -> Callable[[Path], None]:
    return _text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _texts(table: list[list[str]]) -> list[str]:
    return [t for t, _ in table]


BASE = rows()  # 15 rows, 5 per label
N = len(BASE)
MULTILINE = [["部屋について\n\n広くて清潔でした。", "positive"], ["感想\n　\nぬるい。", "negative"],
             ["  \n二階です。", "neutral"], ['「限定」の"プラン", 正解。\r\n夕食も。', "positive"]]
TSV_QUOTES = [['"駅チカ"という言葉どおり。', "positive"], ['"二度と泊まらない。', "negative"],
              ['朝食の"和定食"は品切れ。', "neutral"]]
LINES = [t for t, _ in BASE[:8]]
EMOJI = [["最高😀でした𠮷野家の隣", "positive"], ["最悪👎でした①②", "negative"],
         ["二階です\u2028改行なし", "neutral"]]


def _write_many_labels(path: Path) -> None:
    path.write_text(table_text([[f"感想その{i}です。", f"class-{i}"] for i in range(10_000)]),
                    "utf-8")


def _write_symlink_loop(path: Path) -> None:
    path.symlink_to(path.name)


def _write_unreadable(path: Path) -> None:
    path.write_text(table_text(BASE), "utf-8")
    path.chmod(0)


def _write_binary(path: Path) -> None:
    rng = random.Random(0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(400)))


def corpus() -> list[Hostile]:
    """The corpus, in a fixed order. Outcomes use the evaluate/predict model the test trains
    on ``rows()`` (labels negative, neutral, positive)."""
    cp932 = table_text([["good", "positive"], ["bad", "negative"], ["①駅から近い㈱", "neutral"]]
                       + BASE)
    long_text = "長い" * 50_000
    hollow = table_text(BASE).replace("\n", "\n,\n", 3)
    spellings = [[t, lab.upper() if i % 3 == 0 else (f" {lab}" if i % 3 == 1 else lab)]
                 for i, (t, lab) in enumerate(BASE)]
    kana = [[t, {"positive": "ポジ", "negative": "ネガ", "neutral": "ﾆｭｰﾄﾗﾙ"}[lab]]
            for t, lab in BASE] + [["良いです。", "ﾎﾟｼﾞ"], ["悪いです。", "ﾈｶﾞ"]]
    dupes = BASE + BASE[:4]
    conflict = BASE + [[BASE[0][0], "negative"]]
    floats = [[t, f"{LABELS.index(lab)}.0"] for t, lab in BASE]
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    not_labelled = refused("no labels")
    return [
        Hostile("clean.csv", "15 rows, 3 labels", _text(table_text(BASE)), ok(N),
                {"predict": ok(N, _texts(BASE))}),
        Hostile("clean.tsv", "the same as TSV", _text(table_text(BASE, "\t")), ok(N),
                {"predict": ok(N, _texts(BASE))}),
        Hostile("clean.jsonl", "the same as JSON Lines",
                _jsonl([{"text": t, "label": lab} for t, lab in BASE]), ok(N)),
        Hostile("crlf.csv", "CRLF line ends", _text(table_text(BASE).replace("\n", "\r\n")),
                ok(N), {"predict": ok(N, _texts(BASE))}),
        Hostile("utf8-bom.csv", "UTF-8 with a BOM (Excel's CSV UTF-8)",
                _text("\ufeff" + table_text(BASE)), ok(N)),
        Hostile("utf16-bom.csv", "UTF-16 with a BOM", _text(table_text(BASE), "utf-16"), ok(N),
                {"predict": ok(N, _texts(BASE))}),
        Hostile("cp932.csv", "CP932 (Excel on Japanese Windows), first non-ASCII on line 4",
                _text(cp932, "cp932"), refused("cp932", line=4)),
        Hostile("truncated-utf8.csv", "UTF-8 cut in the middle of a character",
                _bytes(table_text(BASE).encode() + "悪".encode()[:2]),
                refused("truncated", line=N + 2)),
        Hostile("nul-bytes.csv", "NUL bytes on lines 2 and 3",
                _text(table_text(BASE).replace("。その0", "\x00その0", 2)), refused("NUL", line=2)),
        Hostile("binary.csv", "a PNG header and random bytes", _write_binary,
                refused("UTF-8", line=1)),
        Hostile("long-text.csv", "one text of 100,000 characters",
                _text(table_text(BASE + [[long_text, "positive"]])), ok(N + 1),
                {"evaluate": ok(N + 1)}),
        Hostile("many-labels.csv", "10,000 rows, each its own label", _write_many_labels,
                refused("single text"),
                {"evaluate": refused("is not one of", line=2), "predict": ok(10_000),
                 "cv": refused("too few for 3 folds")}),
        Hostile("float-labels.csv", "labels 0.0 / 1.0 / 2.0 (pandas' integers)",
                _text(table_text(floats)), ok(N), {"evaluate": ok(N)}),  # index the names
        Hostile("empty.csv", "0 bytes", _text(""), refused("is empty")),
        Hostile("header-only.csv", "the header and nothing else", _text("text,label\n"),
                refused("contains no rows")),
        Hostile("blank-lines-only.csv", "only blank lines", _text("\n\n  \n"),
                refused("is empty")),
        Hostile("jsonl-trailing-comma.jsonl", "an object with a trailing comma on line 3",
                _text("".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n"
                              for t, lab in BASE[:2]) + '{"text": "あ", "label": "positive",}\n'),
                refused("not valid JSON", line=3)),
        Hostile("jsonl-nested-label.jsonl", "a label that is a JSON object on line 2",
                _jsonl([{"text": "あ", "label": "positive"},
                        {"text": "い", "label": {"name": "negative"}}]),
                refused("not a name", line=2), {"predict": ok(2)}),
        Hostile("json-array.json", "a JSON array, not JSON Lines",
                _text(json.dumps([{"text": t, "label": lab} for t, lab in BASE],
                                 ensure_ascii=False)), refused("JSON array", line=1)),
        Hostile("a-directory.csv", "a directory where a file is expected",
                lambda path: path.mkdir(), refused("is a directory")),
        Hostile("symlink-loop.csv", "a symlink to itself", _write_symlink_loop,
                refused("cannot be read")),
        Hostile("unreadable.csv", "no read permission (root reads it anyway)",
                _write_unreadable,
                ok(N) if root else refused("cannot be read"),
                {"predict": ok(N)} if root else {}),
        Hostile("multiline-quoted.csv", "quoted cells with blank and whitespace-only lines",
                _text(table_text(BASE + MULTILINE)), ok(N + 4),
                {"predict": ok(N + 4, _texts(BASE + MULTILINE))}),
        Hostile("unclosed-quote.csv", "a quote opened on line 3 and never closed",
                _text(table_text(BASE[:1]) + '"悪い,negative\n'
                      + table_text(BASE[1:], header=False)),
                refused("never closed", line=3)),
        Hostile("quote-mid-cell.csv", 'a cell "like"this on line 2',
                _text('text,label\n"駅チカ"という,positive\n' + table_text(BASE, header=False)),
                refused("cannot be read exactly", line=2)),
        Hostile("trailing-empty-columns.csv", "header text,label,,, and rows ending ,,,",
                _text(table_text(BASE).replace("\n", ",,,\n")), ok(N)),
        Hostile("value-in-unnamed-column.csv", "a value under an empty header name, line 3",
                _text("text,label,\n" + "".join(f"{t},{lab},{'メモ' if i == 1 else ''}\n"
                                                 for i, (t, lab) in enumerate(BASE))),
                refused("no name in the header", line=3)),
        Hostile("hollow-rows.csv", "rows of only commas (Excel)", _text(hollow),
                ok(N, warn=("only empty cells",)),
                {"predict": ok(N, _texts(BASE))}),
        Hostile("repeated-header.csv", "two exports concatenated: the header again on line 9",
                _text(table_text(BASE[:7]) + table_text(BASE[7:])), ok(N, warn=("line 9",)),
                {"predict": ok(N, _texts(BASE))}),
        Hostile("tsv-quotes.tsv", "plain TSV whose texts hold quote characters",
                _text("text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in BASE + TSV_QUOTES)),
                ok(N + 3), {"predict": ok(N + 3, _texts(BASE + TSV_QUOTES))}),
        Hostile("tsv-ambiguous.tsv", "a quote on line 2 that line 3 closes",
                _text('text\tlabel\n"二度と\tnegative\n泊まらない"\tpositive\n'
                      + "".join(f"{t}\t{lab}\n" for t, lab in BASE)),
                refused("ambiguous", line=2)),
        Hostile("blank-lines.txt", "10 lines: line 4 empty, line 8 an ideographic space",
                _text("\n".join(LINES[:3] + [""] + LINES[3:6] + ["　"] + LINES[6:]) + "\n"),
                not_labelled, {"predict": refused("empty", line=4)}),
        Hostile("texts.dat", "8 texts, unknown extension", _text("\n".join(LINES) + "\n"),
                refused("--format"), {"predict": ok(8, LINES)}),
        Hostile("texts-noext", "8 texts, no extension", _text("\n".join(LINES) + "\n"),
                refused("no text column"), {"predict": ok(8, LINES)}),
        Hostile("tab-table.txt", "Excel 'Text (Tab delimited)' export saved as .txt",
                _text(table_text(BASE, "\t").replace("\n", "\r\n")), refused("--format tsv")),
        Hostile("label-none.csv", "labels positive / negative / none",
                _text(table_text(rows(5, ("positive", "negative", "none")))), ok(N),
                {"evaluate": refused("'none' is not one of")}),
        Hostile("label-NA.csv", "labels positive / negative / N/A",
                _text(table_text(rows(5, ("positive", "negative", "N/A")))), ok(N),
                {"evaluate": refused("'N/A' is not one of")}),
        Hostile("label-spellings.csv", "POSITIVE / ' positive' / positive ...",
                _text(table_text(spellings)), ok(N, warn=("merged",))),
        Hostile("kana-width-labels.csv", "ポジ and ﾎﾟｼﾞ, ネガ and ﾈｶﾞ",
                _text(table_text(kana)), ok(N + 2, warn=("ﾎﾟｼﾞ", "ﾈｶﾞ")),
                {"evaluate": refused("is not one of")}),
        Hostile("singleton-class.csv", "one neutral row on line 12",
                _text(table_text([r for r in BASE if r[1] != "neutral"] + [BASE[2]])),
                ok(11, warn=("'neutral' (line 12)",)),
                {"cv": refused("only 1 rows")}),
        Hostile("duplicates.csv", "4 rows repeated", _text(table_text(dupes)),
                ok(N + 4, warn=("duplicate",))),
        Hostile("conflicting-duplicates.csv", "row 2's text again on line 17, another label",
                _text(table_text(conflict)), ok(N + 1, warn=("line 2", "line 17"))),
        Hostile("emoji-astral.csv", "emoji, CJK extension B, U+2028 inside texts",
                _text(table_text(BASE + EMOJI)), ok(N + 3),
                {"predict": ok(N + 3, _texts(BASE + EMOJI))}),
        Hostile("whitespace-text.csv", "a text of only spaces on line 3",
                _text(table_text(BASE[:1] + [["\u3000 ", "negative"]] + BASE[1:])),
                refused("empty or only whitespace", line=3)),
        Hostile("missing-label.csv", "an empty label on line 4",
                _text(table_text(BASE[:2] + [["良い", ""]] + BASE[2:])),
                refused("missing", line=4), {"predict": ok(N + 1)}),
        Hostile("nan-label.csv", "a label NaN on line 2",
                _text(table_text([["良い", "NaN"]] + BASE)), refused("NaN", line=2),
                {"predict": ok(N + 1)}),
        Hostile("extra-field.csv", "three fields on line 5",
                _text(table_text(BASE[:3]) + "良い,positive,extra\n"
                      + table_text(BASE[3:], header=False)),
                refused("fields", line=5)),
        Hostile("single-class.csv", "every row positive",
                _text(table_text(rows(5, ("positive",)))), refused("single class"),
                {"evaluate": ok(5), "predict": ok(5)}),
        Hostile("no-text-column.csv", "columns words,label",
                _text(table_text(BASE).replace("text,label", "words,label", 1)),
                refused("no text column")),
        Hostile("missing.csv", "no such file", lambda path: None, refused("not found")),
    ]


def write_corpus(directory: Path) -> dict[str, Path]:
    """Write every corpus file into ``directory``; name → path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for item in corpus():
        path = directory / item.name
        item.write(path)
        paths[item.name] = path
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    for name in write_corpus(target):
        print(target / name)
