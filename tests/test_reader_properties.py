"""Property-based tests of the readers (hypothesis): arbitrary Unicode texts and labels written
with the standard library's csv/json writers, in every format kanjo reads from such writers
(CSV, TSV, JSONL, plain text), come back with identical texts, labels and row count; what
cannot be read exactly is a DataError naming the line, never a silent change."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kanjo.data import read_table, read_texts
from kanjo.errors import DataError, DataWarning

# The characters that break naive readers, mixed into arbitrary code points (no surrogates:
# they cannot be written as UTF-8).
SPECIAL = ['"', "'", ",", "\t", "\n", "\r", "\r\n", "\ufeff", "\u3000", " ", "\u2028",
           "\u0085", "\x0b", "\x0c", "😀", "𠮷", "ﾍﾞ", "①", "\\", "#", "=", "\u200b"]
CHARS = st.one_of(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                  st.sampled_from(SPECIAL))
TEXT = st.lists(CHARS, min_size=1, max_size=30).map("".join).filter(lambda t: t.strip())
LABEL = TEXT.filter(lambda t: t.strip().lower() != "nan")
ROWS = st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=12)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _write(name: str, content: str, directory: str) -> Path:
    path = Path(directory) / name
    path.write_bytes(content.encode("utf-8"))
    return path


def _delimited(rows: list[tuple[str, str]], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return buffer.getvalue()


def _jsonl(rows: list[tuple[str, str]], ascii_only: bool) -> str:
    return "".join(json.dumps({"text": t, "label": lab}, ensure_ascii=ascii_only) + "\n"
                   for t, lab in rows)


def _not_the_header(rows: list[tuple[str, str]]) -> bool:
    return not any(t.strip() == "text" and lab.strip() == "label" for t, lab in rows)


@SETTINGS
@given(rows=ROWS)
def test_csv_round_trip(rows: list[tuple[str, str]]) -> None:
    assume(_not_the_header(rows))
    with tempfile.TemporaryDirectory() as tmp:
        path = _write("data.csv", _delimited(rows, ","), tmp)
        table = read_table(path)
        assert table.texts == [t for t, _ in rows]
        assert table.labels == [lab for _, lab in rows]
        assert read_texts(path).texts == [t for t, _ in rows]


@SETTINGS
@given(rows=ROWS)
def test_tsv_round_trip_or_refused_at_a_line(rows: list[tuple[str, str]]) -> None:
    """Quoted TSV (as csv.writer writes it) reads back exactly, unless its quotes make it also
    a valid plain TSV of other rows: then it is refused as ambiguous at the line."""
    assume(_not_the_header(rows))
    with tempfile.TemporaryDirectory() as tmp:
        path = _write("data.tsv", _delimited(rows, "\t"), tmp)
        try:
            table = read_table(path)
        except DataError as exc:
            assert exc.line is not None and "ambiguous" in exc.message, str(exc)
            return
        assert table.texts == [t for t, _ in rows]
        assert table.labels == [lab for _, lab in rows]


@SETTINGS
@given(rows=st.lists(st.tuples(TEXT.filter(lambda t: not ({"\t", "\n", "\r", '"'} & set(t))),
                               LABEL.filter(lambda t: not ({"\t", "\n", "\r", '"'} & set(t)))),
                     min_size=1, max_size=12))
def test_plain_tsv_round_trip(rows: list[tuple[str, str]]) -> None:
    """Plain TSV (cells joined by tabs, no quoting at all) keeps every character. (Quote
    characters are left out here: a cell that starts and ends with one, `"0"`, is quoted TSV
    to a spreadsheet, and kanjo reads it so, with a warning; see test_data_integrity.)"""
    assume(_not_the_header(rows))
    with tempfile.TemporaryDirectory() as tmp:
        body = "text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows)
        table = read_table(_write("plain.tsv", body, tmp))
        assert table.texts == [t for t, _ in rows]
        assert table.labels == [lab for _, lab in rows]


@SETTINGS
@given(rows=ROWS, ascii_only=st.booleans())
def test_jsonl_round_trip(rows: list[tuple[str, str]], ascii_only: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write("data.jsonl", _jsonl(rows, ascii_only), tmp)
        table = read_table(path)
        assert table.texts == [t for t, _ in rows]
        assert table.labels == [lab for _, lab in rows]
        assert table.lines == list(range(1, len(rows) + 1))


@SETTINGS
@given(texts=st.lists(TEXT.filter(lambda t: "\n" not in t and "\r" not in t), min_size=1,
                      max_size=12))
def test_plain_text_round_trip(texts: list[str]) -> None:
    """One text per line (a text file cannot hold a line break in a text); with --format txt
    every line is exactly its text, and read as auto it is that or refused at line 1 (a
    tab table saved as .txt). A first text cannot start with U+FEFF: that is a BOM."""
    assume(not texts[0].startswith("\ufeff"))
    with tempfile.TemporaryDirectory() as tmp:
        path = _write("texts.txt", "".join(t + "\n" for t in texts), tmp)
        assert read_texts(path, format="txt").texts == texts
        try:
            assert read_texts(path).texts == texts
        except DataError as exc:
            assert exc.line == 1 and "--format tsv" in (exc.hint or "")


ANY_TEXT = st.lists(st.one_of(st.characters(exclude_categories=("Cs",)),
                              st.sampled_from(SPECIAL + ["\x00", "nan", "text", "label"])),
                    max_size=12).map("".join)


@SETTINGS
@given(rows=st.lists(st.tuples(ANY_TEXT, ANY_TEXT), min_size=1, max_size=8),
       fmt=st.sampled_from(["csv", "tsv", "jsonl"]))
def test_anything_is_read_exactly_or_the_user_is_told(rows: list[tuple[str, str]],
                                                      fmt: str) -> None:
    """Any cells at all (empty, whitespace, NUL, 'nan', the header words): the rows come back
    exactly, or a DataError names the line, or a DataWarning says what was skipped."""
    content = _jsonl(rows, False) if fmt == "jsonl" else _delimited(
        rows, "," if fmt == "csv" else "\t")
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = _write(f"data.{fmt}", content, tmp)
        try:
            table = read_table(path)
        except DataError as exc:
            assert exc.line is not None or "no rows" in exc.message or "empty" in exc.message \
                or "single" in exc.message, str(exc)
            return
        exact = (table.texts == [t for t, _ in rows] and table.labels == [lab for _, lab in rows])
        told = any(issubclass(w.category, DataWarning) for w in caught)
        assert exact or told
