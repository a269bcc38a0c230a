"""The Python API takes data in memory: a DataFrame, (text, label) pairs, (texts, labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kanjo
from kanjo.errors import ConfigError, DataError
from tests.conftest import toy_rows, write_csv


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, str]]:
    return toy_rows(30, seed=3)


def test_train_and_evaluate_in_memory_equal_the_file(rows, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "toy.csv", rows)
    frame = pd.DataFrame(rows, columns=["text", "label"])
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    from_file = kanjo.train(csv, tmp_path / "file", model="tfidf")
    probe = ["朝食は最高でした。", "部屋は最悪でした。", "駐車場は一階です。"]
    for name, data in {"frame": frame, "pairs": rows, "columns": (texts, labels),
                       "records": frame.to_dict(orient="records")}.items():
        model = kanjo.train(data, tmp_path / name, model="tfidf")
        assert model.labels.names == from_file.labels.names
        np.testing.assert_allclose(model.predict_proba(probe), from_file.predict_proba(probe),
                                   atol=1e-9)
        assert model.meta["data"]["train"]["rows"] == from_file.meta["data"]["train"]["rows"]
    expected = from_file.evaluate(csv)
    for data in (frame, rows, (texts, labels)):
        got = from_file.evaluate(data)
        assert got["macro_f1"] == expected["macro_f1"] and got["n"] == len(rows)


def test_in_memory_data_gets_the_file_checks(rows, tmp_path: Path) -> None:
    frame = pd.DataFrame(rows, columns=["レビュー", "label"]).rename(columns={"レビュー": "text"})
    frame.loc[4, "label"] = None
    with pytest.raises(DataError, match="line 5: the label"):
        kanjo.train(frame, tmp_path / "bad", model="tfidf")
    with pytest.raises(ConfigError, match="cannot read data of type int"):
        kanjo.train(42, tmp_path / "bad", model="tfidf")
    with pytest.raises(ConfigError, match="row 2"):
        kanjo.train([("良い。", "positive"), "悪い。"], tmp_path / "bad", model="tfidf")
    assert not (tmp_path / "bad").exists()


def test_public_names() -> None:
    public = [n for n in dir(kanjo) if not n.startswith("_")]
    assert {"train", "load", "Classifier", "TrainConfig", "KanjoError", "DataError",
            "ModelError", "ConfigError"} <= set(public)
    assert kanjo.Classifier.__name__ == "Classifier" and callable(kanjo.train)


def test_evaluate_split_dev_scores_the_held_out_rows_again(tmp_path: Path, capsys) -> None:
    """Dev rows drawn by --dev-split (no split column) are recorded by line, so `evaluate
    --split dev` scores exactly them, with a note that the model's temperature was fitted on them
    (60 dev rows: enough to fit one)."""
    from tests.conftest import run_cli

    rows = toy_rows(100, seed=3)
    csv = write_csv(tmp_path / "toy.csv", rows)
    model = kanjo.train(csv, tmp_path / "m", model="tfidf", dev_split=0.2)
    assert model.meta["calibration"]["method"] == "temperature"
    dev = model.meta["data"]["dev"]
    assert dev["source"] == "held-out" and len(dev["lines"]) == dev["rows"]
    metrics = kanjo.load(tmp_path / "m").evaluate(csv, split="dev")
    assert metrics["n"] == dev["rows"]
    assert metrics["macro_f1"] == pytest.approx(model.meta["dev_metrics"]["macro_f1"])
    assert "the dev rows the model fitted its temperature on" in metrics["note"]
    assert "trained on" not in metrics["note"]  # the held-out rows only
    whole = kanjo.load(tmp_path / "m").evaluate(csv)  # training rows and dev rows
    train_rows = model.meta["data"]["train"]["rows"]
    assert f"the {train_rows} rows the model was trained on" in whole["note"]
    assert "fitted its temperature on" in whole["note"]
    code, out, err = run_cli(["evaluate", str(tmp_path / "m"), str(csv), "--split", "dev"], capsys)
    assert code == 0 and f"{dev['rows']} rows" in out and "note: these rows include" in out
    other = write_csv(tmp_path / "other.csv", rows[:-3])
    code, _, err = run_cli(["evaluate", str(tmp_path / "m"), str(other), "--split", "dev"],
                           capsys)
    assert code == 2 and "dev rows were held out from" in err


@pytest.mark.parametrize("text_column,label_column", [("レビュー", "感情"), ("本文", "ラベル"),
                                                      ("口コミ", "評価")])
def test_japanese_column_names_are_found(rows, tmp_path: Path, text_column: str,
                                         label_column: str) -> None:
    import csv

    path = tmp_path / "ja.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["番号", text_column, label_column])
        writer.writerows((i, text, label) for i, (text, label) in enumerate(rows))
    model = kanjo.train(path, tmp_path / "m", model="tfidf")
    assert set(model.labels.names) == {label for _, label in rows}
    assert model.meta["data"]["train"]["rows"] + model.meta["data"]["dev"]["rows"] == len(rows)
