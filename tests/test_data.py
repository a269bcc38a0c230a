"""Readers, labels and splits: formats, auto-detection and every bad input named clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanjo.data import LabelSet, read_table, read_texts, train_dev_split
from kanjo.data.batching import length_sorted_batches
from kanjo.errors import DataError


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_tsv_jsonl_read_the_same_rows(tmp_path: Path) -> None:
    csv_file = write(tmp_path / "a.csv", 'text,label\n"良い, とても",positive\n悪い,negative\n')
    tsv_file = write(tmp_path / "a.tsv", "text\tlabel\n良い, とても\tpositive\n悪い\tnegative\n")
    jsonl_file = write(tmp_path / "a.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "良い, とても", "label": "positive"}, {"text": "悪い", "label": "negative"}]))
    for path, fmt in ((csv_file, "csv"), (tsv_file, "tsv"), (jsonl_file, "jsonl")):
        table = read_table(path)
        assert table.format == fmt
        assert table.texts == ["良い, とても", "悪い"]
        assert table.labels == ["positive", "negative"]
        assert table.lines == [2, 3] if fmt != "jsonl" else [1, 2]


def test_jrte_format_is_detected_and_mapped(tmp_path: Path) -> None:
    rows = ['x1\t1\t部屋が広い。\t{"1": 3}\ttrain', 'x2\t-1\t狭い。\t{"-1": 2, "0": 1}\tdev',
            'x3\t0\t駅前です。\t{"0": 3}\ttest']
    table = read_table(write(tmp_path / "pn.tsv", "\n".join(rows) + "\n"))
    assert table.format == "jrte"
    assert table.labels == ["positive", "negative", "neutral"]
    assert table.splits == ["train", "dev", "test"]
    labels = LabelSet.infer(table)
    assert labels.names == ("negative", "neutral", "positive")
    soft = labels.encode_soft(table)
    np.testing.assert_allclose(soft[1], [2 / 3, 1 / 3, 0], rtol=1e-6)


def test_jrte_reputation_file_is_binary(tmp_path: Path) -> None:
    """rhr (hotel reputation, labels 0/1) shares pn's layout: its ids name the task, so its
    labels are its own two, not pn's neutral/positive. Judges asked twice (a list) are summed;
    a row without votes (null) counts as one vote for its label."""
    rows = ['rhr16q00001\t1\tお風呂が最高でした。\t{"0": 1, "1": 2}\ttrain',
            'rhr16q00002\t0\t1人旅で利用しました。\t[{"0": 2, "1": 1}, {"0": 3}]\ttrain',
            'rhr16q00003\t0\t出張です。\tnull\tdev']
    table = read_table(write(tmp_path / "rhr.tsv", "\n".join(rows) + "\n"))
    assert table.format == "jrte"
    labels = LabelSet.infer(table)
    assert labels.names == ("not_reputation", "reputation")
    assert table.labels == ["reputation", "not_reputation", "not_reputation"]
    np.testing.assert_allclose(labels.encode_soft(table),
                               [[1 / 3, 2 / 3], [5 / 6, 1 / 6], [1, 0]], rtol=1e-6)
    error = bad(tmp_path, "rhr2.tsv", 'rhr16q1\t-1\t悪い\t{"0": 3}\ttrain\n')
    assert error.line == 1 and "is not 0 or 1 (JRTE rhr)" in str(error)


def test_integer_labels_index_into_label_names(tmp_path: Path) -> None:
    table = read_table(write(tmp_path / "a.csv", "text,label\nあ,0\nい,2\nう,1\n"))
    assert LabelSet.infer(table).names == ("0", "1", "2")
    labels = LabelSet(tuple(["negative", "neutral", "positive"]))
    assert labels.encode(table).tolist() == [0, 2, 1]


def test_column_options_and_synonyms(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "id,sentence,sentiment\n1,あ,pos\n2,い,neg\n")
    table = read_table(path)
    assert table.texts == ["あ", "い"] and table.labels == ["pos", "neg"]
    path = write(tmp_path / "b.csv", "body2,y\nあ,pos\nい,neg\n")
    table = read_table(path, text_column="body2", label_column="y")
    assert table.labels == ["pos", "neg"]


def bad(tmp_path: Path, name: str, content: str | bytes, **options) -> DataError:
    with pytest.raises(DataError) as info:
        table = read_table(write(tmp_path / name, content), **options)
        labels = LabelSet(tuple(options["labels"].split(","))) if "labels" in options else \
            LabelSet.infer(table)
        labels.encode(table)
    return info.value


@pytest.mark.parametrize(
    ("name", "content", "line", "words"),
    [
        ("empty.csv", "text,label\nあ,pos\n   ,neg\n", 3, "empty"),
        ("nan.csv", "text,label\nあ,pos\nい,NaN\n", 3, "NaN"),
        ("missing.csv", "text,label\nあ,pos\nい,\n", 3, "missing"),
        ("fields.csv", "text,label\nあ,pos,extra\n", 2, "fields"),
        ("notobj.jsonl", '{"text": "あ", "label": "p"}\n["い", "n"]\n', 2, "not an object"),
        ("badjson.jsonl", '{"text": "あ", "label": "p"}\n{"text": \n', 2, "not valid JSON"),
        ("sjis.csv", "text,label\nあ,pos\n".encode() + "い,neg\n".encode("shift_jis"), 3,
         "UTF-8"),
        ("one.csv", "text,label\nあ,pos\nい,pos\n", None, "single class"),
        ("jrte.tsv", 'x1\t1\t良い\t{"1": 3}\ttrain\nx2\t2\t悪い\t{"1": 3}\ttrain\n', 2,
         "not -1, 0 or 1"),
    ],
)
def test_bad_input_names_file_line_and_problem(tmp_path, name, content, line, words) -> None:
    error = bad(tmp_path, name, content)
    assert error.file.endswith(name)
    assert error.line == line
    assert words in str(error)


def test_label_outside_labels_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "text,label\nあ,positive\nい,angry\n")
    with pytest.raises(DataError, match="'angry' is not one of negative, positive") as info:
        LabelSet(tuple(["negative", "positive"])).encode(read_table(path))
    assert info.value.line == 3


def test_missing_file_and_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    path = write(tmp_path / "a.csv", "words,label\nあ,p\n")
    with pytest.raises(DataError, match="no text column") as info:
        read_table(path)
    assert "columns found: words, label" in str(info.value)
    with pytest.raises(DataError, match="no label column 'y'"):
        read_table(path, text_column="words", label_column="y")


def test_splits_from_column_and_stratified(tmp_path: Path) -> None:
    lines = ["text,label,split"] + [f"文{i},{'ab'[i % 2]},{'train' if i < 8 else 'dev'}"
                                    for i in range(12)] + ["テスト,a,test"]
    table = read_table(write(tmp_path / "a.csv", "\n".join(lines)))
    ids = LabelSet.infer(table).encode(table)
    train, dev = train_dev_split(table, ids)
    assert train.tolist() == list(range(8)) and dev.tolist() == [8, 9, 10, 11]

    rows = ["text,label"] + [f"文{i},{'ab'[i % 2]}" for i in range(40)]
    table = read_table(write(tmp_path / "b.csv", "\n".join(rows)))
    ids = LabelSet.infer(table).encode(table)
    train, dev = train_dev_split(table, ids, dev_fraction=0.25, seed=1)
    assert len(dev) == 10 and np.bincount(ids[dev]).tolist() == [5, 5]
    assert not set(train) & set(dev)
    again, _ = train_dev_split(table, ids, dev_fraction=0.25, seed=1)
    assert again.tolist() == train.tolist()


def test_read_texts_plain_lines(tmp_path: Path) -> None:
    table = read_texts(write(tmp_path / "in.txt", "一つ目\n\n二つ目\n"))
    assert table.texts == ["一つ目", "二つ目"] and table.lines == [1, 3]


@given(st.lists(st.integers(1, 300), max_size=200), st.integers(1, 64),
       st.none() | st.integers(1, 2048))
@settings(max_examples=200, deadline=None)
def test_length_sorted_batches_hold_every_row_once_within_both_budgets(
        lengths: list[int], batch_size: int, max_tokens: int | None) -> None:
    batches = length_sorted_batches(lengths, batch_size, max_tokens)
    assert sorted(i for b in batches for i in b.tolist()) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True), "longest first"
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert 1 <= len(batch) <= batch_size
        if max_tokens is not None and len(batch) > 1:
            assert len(batch) * longest <= max_tokens
    if max_tokens is not None:  # as full as both budgets allow: no batch could take one more
        for batch in batches[:-1]:
            assert len(batch) == batch_size or \
                (len(batch) + 1) * max(lengths[i] for i in batch) > max_tokens


def test_streamed_jsonl_names_each_column_once(tmp_path: Path) -> None:
    """The columns of a JSONL chunk (the header of a CSV/TSV prediction file) list each key once,
    in order of first appearance, however many rows share it."""
    from kanjo.data.stream import stream_texts

    path = tmp_path / "in.jsonl"
    rows = [{"id": 1, "text": "駅から近い"}, {"id": 2, "text": "朝食が美味しい"},
            {"id": 3, "text": "部屋が狭い", "note": "x"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    chunks = list(stream_texts(path, chunk_rows=2))
    assert [c.columns for c in chunks] == [["id", "text"], ["id", "text", "note"]]
