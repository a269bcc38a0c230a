"""Every row the user gave is read exactly, or the user is told: one test per kind of hostile
input (files written here; ../shared/cases has the real-world ones, see test_shared_cases)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from kanjo.data import LabelSet, read_table, read_texts, train_dev_split
from kanjo.data.duplicates import duplicate_groups
from kanjo.errors import DataError, DataWarning
from tests.conftest import TINY, toy_rows, write_csv
from tests.conftest import run_cli as run

CLASSES = {"positive": "部屋が広くて快適でした", "negative": "部屋が狭くて最悪でした",
           "neutral": "部屋は二階にあります"}


def rows(n: int = 10, labels: tuple[str, ...] = ("positive", "negative", "neutral")
         ) -> list[tuple[str, str]]:
    """``n`` distinct texts per label, interleaved."""
    return [(f"{CLASSES.get(label, label)}。その{i}", label) for i in range(n) for label in labels]


def csv_text(table: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(table)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kanjo.training.finetune import train

    directory = tmp_path_factory.mktemp("tfidf")
    data = write_csv(directory / "train.csv", rows())
    train(data, directory / "model", model="tfidf")
    return directory / "model"


# --- encodings -----------------------------------------------------------------------------

def test_cp932_is_named_with_a_remedy_that_works(tmp_path: Path, capsys) -> None:
    """Excel's CSV on Japanese Windows is CP932 (①, ～ and ㈱ are not Shift_JIS): the error
    names the line of the first non-ASCII byte and CP932, and --encoding cp932 reads it."""
    table = [["text", "label"], ["good room", "positive"], ["bad room", "negative"],
             ["①駅から近い～㈱の系列", "positive"]] + [[t, lab] for t, lab in rows(4)]
    path = tmp_path / "excel.csv"
    path.write_bytes(csv_text(table).encode("cp932"))
    with pytest.raises(DataError) as info:
        read_table(path)
    assert info.value.line == 4 and "cp932" in str(info.value).lower()
    read = read_table(path, encoding="cp932")
    assert read.texts == [r[0] for r in table[1:]] and read.labels == [r[1] for r in table[1:]]
    code, _, err = run(["train", str(path), "--model", "tfidf", "--out",
                        str(tmp_path / "m"), "--encoding", "cp932"], capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "m" / "kanjo.json").read_text("utf-8"))
    assert meta["config"]["encoding"] == "cp932"


@pytest.mark.parametrize("codec", ["utf-16", "utf-8-sig", "utf-32"])
def test_files_with_a_byte_order_mark(tmp_path: Path, codec: str) -> None:
    table = [["text", "label"], ["良い", "positive"], ["悪い", "negative"]]
    path = tmp_path / "bom.csv"
    path.write_bytes(csv_text(table).encode(codec))
    read = read_table(path)
    assert read.texts == ["良い", "悪い"] and read.labels == ["positive", "negative"]


def test_truncated_utf8_and_nul_bytes_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes("text,label\n良い,positive\n悪い,neg".encode() + "あ".encode()[:2])
    with pytest.raises(DataError, match="truncated") as info:
        read_table(path)
    assert info.value.line == 3
    path.write_bytes(b"text,label\nok,positive\nbad\x00,negative\n")
    with pytest.raises(DataError, match="NUL") as info:
        read_table(path)
    assert info.value.line == 3


# --- CSV and TSV structure ------------------------------------------------------------------

def test_quoted_multiline_cells_are_kept_exactly(tmp_path: Path) -> None:
    """Blank lines, a line of an ideographic space, a line of spaces, CRLF and quotes inside
    quoted cells all survive, in training and in predict input alike."""
    texts = ["部屋について\n\n広くて清潔でした。", "感想\n　\nお風呂がぬるい。",
             "助かりました。\n  \nまた。", "悪かった点：\n・遅い\n\n\n・暗い",
             '「おすすめ」の"限定プラン", 正解。', "改行\r\nCRLF"]
    table = [["text", "label"]] + [[t, "positive" if i % 2 else "negative"]
                                   for i, t in enumerate(texts)]
    path = tmp_path / "multi.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(table).encode())
    read = read_table(path)
    assert read.texts == texts
    assert read.lines == [2, 5, 8, 11, 16, 17]
    assert read_texts(path).texts == texts


def test_a_quote_that_never_closes_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_text('text,label\n良い,positive\n"悪い,negative\n普通,neutral\n', "utf-8")
    with pytest.raises(DataError, match="never closed") as info:
        read_table(path)
    assert info.value.line == 3
    path.write_text('text,label\n"駅チカ"という,positive\n', "utf-8")
    with pytest.raises(DataError, match="cannot be read exactly") as info:
        read_table(path)
    assert info.value.line == 2


def test_empty_trailing_columns_are_ignored(tmp_path: Path) -> None:
    data = rows(3)
    path = tmp_path / "excel.csv"
    path.write_text("text,label,,,\n" + "".join(f"{t},{lab},,,\n" for t, lab in data)
                    + ",,,,\n", "utf-8")
    read = read_table(path)
    assert read.texts == [t for t, _ in data] and read.labels == [lab for _, lab in data]
    assert read.columns == {"text": "text", "label": "label"}
    path.write_text("text,label,,\nあ,positive,,\nい,negative,メモ,\n", "utf-8")
    with pytest.raises(DataError, match="no name in the header") as info:
        read_table(path)
    assert info.value.line == 3


def test_a_repeated_header_is_skipped_and_named(tmp_path: Path) -> None:
    first, second = rows(2), rows(2, ("negative", "positive"))
    path = tmp_path / "joined.csv"
    path.write_text(csv_text([["text", "label"], *first, ["text", "label"], *second]), "utf-8")
    with pytest.warns(DataWarning, match=r"line 8 repeat"):
        read = read_table(path)
    assert read.labels == [lab for _, lab in first + second]
    assert read.stats["header_repeats"] == [8]
    assert "label" not in LabelSet.infer(read).names


def test_plain_tsv_keeps_its_quote_characters(tmp_path: Path) -> None:
    texts = ['"駅チカ"という言葉どおり。', '"二度と泊まらない。', "普通です。",
             '朝食の"和定食"は品切れ。', "スタッフの「一言」。"]
    path = tmp_path / "plain.tsv"
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{'ab'[i % 2]}\n" for i, t in
                                               enumerate(texts)), "utf-8")
    assert read_table(path).texts == texts
    assert read_texts(path).texts == texts


def test_quoted_tsv_from_a_csv_writer_is_read_exactly(tmp_path: Path) -> None:
    texts = ['quote " inside', "tab\tinside", "line\nbreak", "plain"]
    path = tmp_path / "quoted.tsv"
    path.write_text(csv_text([["text", "label"]] + [[t, "a"] for t in texts], "\t"), "utf-8")
    assert read_table(path).texts == texts


def test_ambiguous_tsv_is_refused_at_the_line(tmp_path: Path) -> None:
    """A quote at the start of a cell that a later quote closes: quoted TSV reads lines 2–3 as
    one text, plain TSV as two rows. Neither guess is safe."""
    path = tmp_path / "ambiguous.tsv"
    path.write_text('text\tlabel\n"二度と\tnegative\n泊まらない"\tpositive\n', "utf-8")
    with pytest.raises(DataError, match="ambiguous") as info:
        read_table(path)
    assert info.value.line == 2


# --- predict input --------------------------------------------------------------------------

def test_predict_refuses_blank_lines_like_stdin(tfidf_model: Path, tmp_path: Path, capsys,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["良い部屋でした。", "", "最悪でした。", "　", "二階です。"]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    out = tmp_path / "p.jsonl"
    code, _, err = run(["predict", str(tfidf_model), "--input", str(path), "--output",
                        str(out)], capsys)
    assert code == 2 and "line 2" in err and not out.exists()
    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text("utf-8")))
    code, _, err = run(["predict", str(tfidf_model), "--input", "-"], capsys)
    assert code == 2 and "line 2" in err
    path.write_text("\n".join(x for x in lines if x.strip()) + "\n", "utf-8")
    code, _, err = run(["predict", str(tfidf_model), "--input", str(path), "--output",
                        str(out)], capsys)
    assert code == 0, err
    assert len(out.read_text("utf-8").splitlines()) == 3


@pytest.mark.parametrize("name", ["texts.dat", "texts", "texts.log"])
def test_unknown_or_no_extension_is_one_text_per_line(tfidf_model: Path, tmp_path: Path,
                                                      name: str, capsys) -> None:
    texts = ["大浴場からの夜景が素晴らしかった。", "朝食の品数が少ない。", "出張で一泊しました。"]
    path = tmp_path / name
    path.write_text("\n".join(texts) + "\n", "utf-8")
    assert read_texts(path).texts == texts
    out = tmp_path / "p.jsonl"
    code, _, err = run(["predict", str(tfidf_model), "--input", str(path), "--output",
                        str(out)], capsys)
    assert code == 0, err
    assert [json.loads(x)["text"] for x in out.read_text("utf-8").splitlines()] == texts


def test_a_tab_table_saved_as_txt_is_not_read_as_texts(tfidf_model: Path, tmp_path: Path,
                                                       capsys) -> None:
    data = rows(2)
    path = tmp_path / "export.txt"
    path.write_bytes(("text\tlabel\r\n" + "".join(f"{t}\t{lab}\r\n" for t, lab in data))
                     .encode())
    code, _, err = run(["predict", str(tfidf_model), "--input", str(path)], capsys)
    assert code == 2 and "--format tsv" in err
    assert read_texts(path, format="tsv").texts == [t for t, _ in data]


# --- labels ---------------------------------------------------------------------------------

@pytest.mark.parametrize("word", ["none", "NA", "N/A", "null", "None"])
def test_words_for_nothing_are_real_labels(tmp_path: Path, word: str) -> None:
    data = rows(3, ("positive", "negative", word))
    read = read_table(write_csv(tmp_path / "a.csv", data))
    assert LabelSet.infer(read).names == tuple(sorted({"positive", "negative", word}))


def test_label_spellings_are_merged_and_reported(tmp_path: Path) -> None:
    spellings = ["positive", "Positive", "positive ", "ｐｏｓｉｔｉｖｅ", "POSITIVE", "ポジ",
                 "ﾎﾟｼﾞ", "\u200bポジ", "negative", " negative", "ｎｅｇａｔｉｖｅ", "NEGATIVE"]
    data = [(f"文{i}", spellings[i % len(spellings)]) for i in range(48)]
    table = read_table(write_csv(tmp_path / "a.csv", data))
    labels = LabelSet.infer(table)
    assert labels.names == ("negative", "positive", "ポジ")
    with pytest.warns(DataWarning) as caught:
        ids = labels.encode(table)
    message = str(caught[0].message)
    for variant in ("'Positive'", "'ｐｏｓｉｔｉｖｅ'", "'ﾎﾟｼﾞ'", "' negative'"):
        assert variant in message
    assert labels.counts(ids) == {"negative": 16, "positive": 20, "ポジ": 12}
    assert table.stats["labels_merged"]["ﾎﾟｼﾞ"] == {"into": "ポジ", "rows": 4, "first_line": 8}
    with pytest.raises(DataError, match="differ only in case"):
        LabelSet(tuple(["Positive", "positive"]))


def test_integers_written_as_decimals_are_those_integers(tmp_path: Path) -> None:
    """pandas writes an integer column with a blank cell as 1.0, 2.0: in a file edited that
    way, 1 and 1.0 were two classes. They are one label, named 1, and index --labels."""
    cells = ["0", "1", "2", "1.0", "2.0", "０", "1.5"]
    data = [(f"文{i}", cells[i % len(cells)]) for i in range(28)]
    table = read_table(write_csv(tmp_path / "a.csv", data))
    labels = LabelSet.infer(table)
    assert labels.names == ("0", "1", "1.5", "2")
    with pytest.warns(DataWarning, match=r"'1\.0' → '1'"):
        assert labels.counts(labels.encode(table)) == {"0": 8, "1": 8, "1.5": 4, "2": 8}
    floats = read_table(write_csv(tmp_path / "f.csv", [(f"文{i}", f"{i % 3}.0")
                                                       for i in range(9)]))
    named = LabelSet(("negative", "neutral", "positive"))
    assert named.encode(floats).tolist() == [0, 1, 2] * 3  # 0.0/1.0/2.0 index the names
    assert LabelSet.infer(floats).names == ("0", "1", "2")
    with pytest.raises(DataError, match="decimal point"):
        LabelSet(("1", "1.0"))


# --- splits ---------------------------------------------------------------------------------

def test_a_single_row_class_is_named_and_the_rest_stay_stratified(tmp_path: Path) -> None:
    data = rows(15, ("positive", "negative")) + [("部屋は二階です。", "neutral")]
    table = read_table(write_csv(tmp_path / "a.csv", data))
    ids = LabelSet.infer(table).encode(table)
    with pytest.warns(DataWarning, match=r"'neutral' \(line 32\)"):
        train, dev = train_dev_split(table, ids, dev_fraction=0.1)
    assert 30 in train
    negative, neutral, positive = np.bincount(ids[dev], minlength=3).tolist()
    assert neutral == 0 and len(dev) == 3 and abs(negative - positive) == 1  # stratified


def test_duplicates_stay_on_one_side_of_the_split(tmp_path: Path) -> None:
    base = rows(10)
    data = base + base[:6] + [("ＷｉＦｉが速い。", "positive"), ("WiFiが速い。", "positive")]
    table = read_table(write_csv(tmp_path / "a.csv", data))
    ids = LabelSet.infer(table).encode(table)
    groups = duplicate_groups(table.texts)
    assert groups[-1] == groups[-2]  # equal after NFKC
    for seed in range(10):
        train, dev = train_dev_split(table, ids, dev_fraction=0.2, seed=seed)
        assert not set(groups[train]) & set(groups[dev])
        assert len(train) + len(dev) == len(data)


def test_train_reports_duplicates_and_conflicts(tmp_path: Path, capsys) -> None:
    data = rows(8)
    data += [data[0], data[3], (data[5][0], "positive" if data[5][1] != "positive" else "neutral")]
    path = write_csv(tmp_path / "a.csv", data)
    code, _, err = run(["train", str(path), "--model", "tfidf", "--out", str(tmp_path / "m")],
                       capsys)
    assert code == 0, err
    assert "3 duplicate row(s)" in err
    assert f"line 7 ('{data[5][1]}'), line 28" in err
    meta = json.loads((tmp_path / "m" / "kanjo.json").read_text("utf-8"))
    integrity = meta["data"]["train"]["integrity"]
    assert integrity["rows_read"] == integrity["rows_used"] == 27
    assert integrity["duplicates"] == 3
    assert integrity["conflicts"] == 1
    assert "data:" in err and "27 rows read" in err


def test_cv_folds_keep_copies_together(tmp_path: Path) -> None:
    from kanjo.config import TrainConfig
    from kanjo.training.cross_validation import cross_validate

    base = rows(8)
    data = base + base[:9]
    path = write_csv(tmp_path / "a.csv", data)
    with pytest.warns(DataWarning, match="duplicate"):
        report = cross_validate(path, TrainConfig(model="tfidf"), folds=3)
    groups = duplicate_groups([t for t, _ in data])
    fold_of: dict[int, set[int]] = {}
    for row, fold in zip(report["rows"], report["fold"], strict=True):
        fold_of.setdefault(int(groups[row]), set()).add(fold)
    assert all(len(folds) == 1 for folds in fold_of.values())
    assert report["integrity"]["duplicates"] == 9


# --- one normalisation ----------------------------------------------------------------------

def test_nfkc_makes_width_variants_one_input(tmp_path: Path, tiny_bert: Path) -> None:
    """The tiny BERT's vocabulary has ベッド but not ﾍﾞｯﾄﾞ: without kanjo's own NFKC the two
    spellings are different inputs to it and score differently."""
    from kanjo.inference.classifier import Classifier
    from kanjo.training.finetune import train

    data = write_csv(tmp_path / "toy.csv", toy_rows(20) + [("ﾍﾞｯﾄﾞが広い。", "positive")])
    fast = {**TINY, "epochs": 3}
    train(data, tmp_path / "m", model=str(tiny_bert), **fast)
    classifier = Classifier.load(tmp_path / "m")
    assert classifier.meta["text_normalization"] == "NFKC"
    assert classifier.meta["data"]["train"]["integrity"]["texts_normalised"] == 1
    pairs = [("ﾍﾞｯﾄﾞは最高でした。", "ベッドは最高でした。"), ("ＷｉＦｉは最悪", "WiFiは最悪"),
             ("ﾌﾛﾝﾄは２階です", "フロントは2階です")]
    proba = classifier.predict_proba([t for pair in pairs for t in pair])
    np.testing.assert_allclose(proba[0::2], proba[1::2], atol=1e-6)
    raw = classifier.backend.logits([t for pair in pairs for t in pair], 8)[0]
    # (rtol=0: the calibrated head can make every logit small)
    assert not np.allclose(raw[0], raw[1], rtol=0, atol=1e-6), "the model itself tells them apart"


# --- MeCab dictionaries ---------------------------------------------------------------------

def test_missing_mecab_dictionary_is_exit_2_with_the_install_hint(
        tmp_path: Path, tiny_japanese_bert: Path, capsys) -> None:
    model = tmp_path / "unidic-model"
    shutil.copytree(tiny_japanese_bert, model)
    config_path = model / "tokenizer_config.json"
    config = json.loads(config_path.read_text("utf-8"))
    config["mecab_kwargs"] = {"mecab_dic": "unidic"}
    config_path.write_text(json.dumps(config), "utf-8")
    pytest.importorskip("fugashi")
    try:
        import unidic  # noqa: F401

        pytest.skip("the full unidic package is installed here")
    except ImportError:
        pass
    data = write_csv(tmp_path / "a.csv", rows(5))
    out = tmp_path / "runs" / "m"
    code, _, err = run(["train", str(data), "--model", str(model), "--out", str(out),
                        "--epochs", "1", "--min-steps", "1"], capsys)
    assert code == 2, err
    assert "unidic" in err and "python -m unidic download" in err and "Traceback" not in err
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_dictionary_not_downloaded_gets_the_same_hint() -> None:
    """After `pip install unidic` without `python -m unidic download`, transformers raises this
    RuntimeError (its text copied from transformers' BertJapaneseTokenizer)."""
    from kanjo.models.resolve import tokenizer_dependency_error

    error = tokenizer_dependency_error(RuntimeError(
        "The unidic dictionary itself is not found. See https://github.com/polm/unidic-py for "
        "installation."), "MODEL")
    assert error is not None and "python -m unidic download" in error.hint
    assert tokenizer_dependency_error(RuntimeError("CUDA out of memory"), "MODEL") is None
