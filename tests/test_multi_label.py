"""--task multi-label: label sets read and checked, thresholds chosen on dev, stored and applied
by every backend, transformers-pipeline compatibility, export parity, cv, label issues, serve."""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

import kanjo
from kanjo.data import read_table
from kanjo.data.label_sets import multi_hot, parse_label_sets
from kanjo.data.targets import targets_for
from kanjo.errors import DataError
from kanjo.evaluation.multi_label import choose_thresholds, multi_label_metrics
from tests.conftest import NEGATIVE, POSITIVE, TINY, run_cli
from tests.server import serving

# tags by the subject a clause is about; ロビー and 駐車場 carry none
TOPICS = {"部屋": ["部屋", "ベッド", "眺め"], "食事": ["朝食", "夕食", "料理"],
          "温泉": ["温泉", "大浴場", "露天風呂"], "接客": ["スタッフ", "フロント", "接客"]}
UNTAGGED = ["ロビー", "駐車場"]



def infer_targets(table, task, label_sep=None):  # type: ignore[no-untyped-def]
    """The label names and the multi-hot rows of ``table`` (targets_for, then encode)."""
    targets = targets_for(task, table, label_sep=label_sep)
    return targets.labels, targets.encode(table)

def tag_rows(n: int, seed: int) -> list[tuple[str, list[str]]]:
    """Sentences of one or two clauses; a row's tags are the topics of its subjects (so tags
    overlap), and about one row in seven is about untagged things only (an empty set)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        tags: list[str] = []
        clauses = []
        for _ in range(rng.choice([1, 1, 2])):
            if rng.random() < 0.15:
                subject = rng.choice(UNTAGGED)
            else:
                topic = rng.choice(sorted(TOPICS))
                subject = rng.choice(TOPICS[topic])
                tags.append(topic)
            clauses.append(subject + rng.choice(POSITIVE + NEGATIVE))
        rows.append(("、".join(clauses) + "。", sorted(set(tags))))
    return rows


def write_tags(path: Path, rows: list[tuple[str, list[str]]], sep: str | None = None) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "labels"])
        for text, tags in rows:
            cell = (sep.join(tags) if tags else "[]") if sep else json.dumps(
                tags, ensure_ascii=False)
            writer.writerow([text, cell])
    return path


@pytest.fixture(scope="module")
def tags_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tags(tmp_path_factory.mktemp("tags") / "tags.csv", tag_rows(240, seed=0))


@pytest.fixture(scope="module")
def tfidf_tags(tmp_path_factory: pytest.TempPathFactory, tags_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("ml") / "tfidf"
    kanjo.train(tags_csv, out, model="tfidf", task="multi-label", dev_split=0.25)
    return out


@pytest.fixture(scope="module")
def torch_tags(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, tags_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("ml") / "torch"
    kanjo.train(tags_csv, out, model=str(tiny_bert), task="multi-label", dev_split=0.25,
                **dict(TINY, epochs=15))
    return out


# ---------------------------------------------------------------------------- reading
def test_label_sets_read_alike_from_json_lists_separators_and_jsonl(tmp_path: Path) -> None:
    rows = [("部屋が広い。", ["部屋"]), ("朝食と温泉が良い。", ["食事", "温泉"]),
            ("また来ます。", []), ("接客が良い。", ["接客"])]
    as_json = write_tags(tmp_path / "a.csv", rows)
    as_sep = write_tags(tmp_path / "b.csv", rows, sep=";")
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("".join(json.dumps({"text": t, "label": g}, ensure_ascii=False) + "\n"
                             for t, g in rows), encoding="utf-8")
    results = [infer_targets(read_table(as_json), "multi-label"),
               infer_targets(read_table(as_sep), "multi-label", label_sep=";"),
               infer_targets(read_table(jsonl), "multi-label")]
    for labels, y in results:
        assert labels.names == ("接客", "温泉", "部屋", "食事")
        assert y.tolist() == results[0][1].tolist()
    assert y[2].sum() == 0  # the empty set is a row, not dropped
    assert y[1].tolist() == [0, 1, 0, 1]
    from kanjo.data.inputs import as_table  # in memory: (text, list of labels) pairs

    assert infer_targets(as_table(rows), "multi-label")[1].tolist() == y.tolist()


def test_spellings_merge_and_unknown_labels_name_their_line(tmp_path: Path) -> None:
    path = write_tags(tmp_path / "t.csv", [("a1", ["Room"]), ("a2", ["room", "Bath"]),
                                            ("a3", ["ｒｏｏｍ"]), ("a4", ["bath"])])
    table = read_table(path)
    with pytest.warns(UserWarning, match="merged"):
        labels, y = infer_targets(table, "multi-label")
    assert len(labels) == 2 and y[:, labels.names.index("Room")].tolist() == [1, 1, 1, 0]
    with pytest.raises(DataError, match="line 3.*'Bath' is not one of"):
        multi_hot(labels.__class__(("Room", "Spa")), table, parse_label_sets(table))


def test_labels_joined_by_a_separator_without_label_sep_are_refused(tmp_path: Path) -> None:
    """A file that separates its labels with ';', read without --label-sep, would train
    '部屋;食事' as a label of its own: refused, naming the separator to pass."""
    path = tmp_path / "t.csv"
    path.write_text("text,labels\n部屋が広い。,部屋\n朝食も部屋も良い。,部屋;食事\n"
                    "朝食が美味しい。,食事\n", encoding="utf-8")
    with pytest.raises(DataError, match="joined by ';'") as info:
        infer_targets(read_table(path), "multi-label")
    assert "--label-sep ';'" in (info.value.hint or "")
    labels, y = infer_targets(read_table(path), "multi-label", label_sep=";")
    assert labels.names == ("部屋", "食事") and y.tolist() == [[1, 0], [1, 1], [0, 1]]
    with pytest.warns(UserWarning, match="pass --task multi-label --label-sep ';'"):
        classes = targets_for("classification", read_table(path))
    assert classes.names == ("部屋", "部屋;食事", "食事")
    path.write_text("text,labels\n部屋が広い。,部屋\nA;Bの件。,A;B\n", encoding="utf-8")
    assert infer_targets(read_table(path), "multi-label")[0].names == ("A;B", "部屋")


def test_an_empty_cell_is_missing_not_an_empty_set(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,labels\n部屋が広い。,部屋\n特になし。,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3.*missing") as info:
        read_table(path)
    assert "[]" in (info.value.hint or "")
    path.write_text("text,labels\n部屋が広い。,部屋\n特になし。,;\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3.*only separators"):
        parse_label_sets(read_table(path), ";")


def test_a_list_label_without_the_task_flag_exits_2_naming_line_and_flag(
        tags_csv: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "model"
    code, _, err = run_cli(["train", str(tags_csv), "--out", str(out), "--model", "tfidf"],
                           capsys)
    assert code == 2 and "Traceback" not in err
    assert "line 2" in err and "list of labels" in err and "--task multi-label" in err
    assert not out.exists()


def test_the_dev_split_keeps_every_tag_and_empty_sets_on_both_sides(tags_csv: Path) -> None:
    from kanjo.config import TrainConfig
    from kanjo.training.prepare import prepare_data

    prepared = prepare_data(tags_csv, TrainConfig(task="multi-label", dev_split=0.25))
    for y in (prepared.y_train, prepared.y_dev):
        assert (y.sum(axis=0) > 0).all() and (y.sum(axis=1) == 0).any()
    share = prepared.y_dev.mean(axis=0) / prepared.y_train.mean(axis=0)
    assert np.all(np.abs(share - 1) < 0.25), share  # iterative stratification
    assert not set(prepared.train.texts) & set(prepared.dev.texts)


# ---------------------------------------------------------------------------- scoring
def test_thresholds_maximise_each_labels_f1_and_fall_back_when_positives_are_few() -> None:
    y = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0, 0], [0, 0]])
    p = np.array([[.3, .9], [.35, .1], [.4, .1], [.32, .2], [.31, .1], [.1, .9], [.2, .1],
                  [.1, .1]])
    thresholds, how = choose_thresholds(y, p)
    assert 0.2 < thresholds[0] <= 0.3 and thresholds[1] == 0.5  # 1 positive: the fallback
    assert how["tuned"] == [True, False]
    metrics = multi_label_metrics(y, p >= np.array(thresholds), ["a", "b"], p)
    assert metrics["per_label"]["a"]["f1"] == 1.0 and metrics["subset_accuracy"] == 7 / 8
    assert metrics["hamming_loss"] == pytest.approx(1 / 16)


def test_tfidf_thresholds_are_stored_and_applied_by_predict_and_evaluate(
        tfidf_tags: Path, tags_csv: Path, tmp_path: Path, capsys) -> None:
    meta = json.loads((tfidf_tags / "kanjo.json").read_text(encoding="utf-8"))
    assert meta["task"] == "multi-label" and len(meta["thresholds"]) == 4
    assert meta["dev_metrics"]["micro_f1"] > 0.9
    clf = kanjo.Classifier.load(tfidf_tags)
    texts = ["朝食は最高でした、露天風呂が快適でした。", "駐車場は最悪でした。"]
    proba = clf.predict_proba(texts)
    assert ((proba > 0) & (proba < 1)).all() and not np.allclose(proba.sum(axis=1), 1)
    assert clf.predict(texts) == [["温泉", "食事"], []]
    code, out, _ = run_cli(["predict", str(tfidf_tags), *texts], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["labels"] for r in rows] == [["温泉", "食事"], []]
    assert set(rows[0]["probabilities"]) == set(clf.labels.names)
    # the stored thresholds decide: at 0 every label is on, for predict and for evaluate
    meta["thresholds"] = [0.0] * 4
    (tfidf_tags / "kanjo.json").write_text(json.dumps(meta), encoding="utf-8")
    try:
        assert kanjo.Classifier.load(tfidf_tags).predict(texts[1:]) == [list(clf.labels.names)]
        code, out, _ = run_cli(["evaluate", str(tfidf_tags), str(tags_csv), "--json"], capsys)
        assert code == 0 and json.loads(out)["per_label"]["温泉"]["recall"] == 1.0
        assert json.loads(out)["subset_accuracy"] == 0.0
    finally:
        meta["thresholds"] = clf.rule.thresholds.tolist()
        (tfidf_tags / "kanjo.json").write_text(json.dumps(meta), encoding="utf-8")


def test_cv_and_label_issues_handle_label_sets(tags_csv: Path, tmp_path: Path, capsys) -> None:
    rows = tag_rows(90, seed=5)
    rows[0] = (rows[0][0], ["部屋", "食事", "温泉", "接客"])  # a wrongly tagged row
    path = write_tags(tmp_path / "noisy.csv", rows, sep="|")
    oof = tmp_path / "oof.csv"
    code, out, err = run_cli(["cv", str(path), "--model", "tfidf", "--task", "multi-label",
                              "--label-sep", "|", "--folds", "3", "--predictions", str(oof),
                              "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"]["micro_f1"]["mean"] > 0.8
    gold = next(csv.DictReader(oof.open(encoding="utf-8")))["gold"]
    assert json.loads(gold) == sorted(rows[0][1], key=["接客", "温泉", "部屋", "食事"].index)
    code, _, err = run_cli(["label-issues", str(path), "--model", "tfidf", "--task",
                            "multi-label", "--label-sep", "|", "--folds", "3",
                            "--out", str(tmp_path / "issues.csv")], capsys)
    assert code == 0, err
    issues = list(csv.DictReader((tmp_path / "issues.csv").open(encoding="utf-8")))
    assert issues and "2" in [row["line"] for row in issues]  # the row of four tags


# ---------------------------------------------------------------------------- tiny BERT
def test_finetuned_model_is_a_transformers_multi_label_classifier(torch_tags: Path,
                                                                   tmp_path: Path) -> None:
    from transformers import pipeline

    config = json.loads((torch_tags / "config.json").read_text(encoding="utf-8"))
    assert config["problem_type"] == "multi_label_classification"
    meta = json.loads((torch_tags / "kanjo.json").read_text(encoding="utf-8"))
    assert meta["dev_metrics"]["micro_f1"] > 0.8, meta["dev_metrics"]
    assert meta["calibration"]["method"] is None and meta["temperature"] == 1.0
    clf = kanjo.Classifier.load(torch_tags, device="cpu")
    texts = ["夕食は最高でした、スタッフが快適でした。", "ロビーは最悪でした。"]
    proba = clf.predict_proba(texts)
    scored = pipeline("text-classification", model=str(torch_tags), device="cpu", top_k=None)(
        texts)
    for row, p in zip(scored, proba, strict=True):  # sigmoid scores, not a softmax
        by_label = {item["label"]: item["score"] for item in row}
        assert [by_label[n] for n in clf.labels.names] == pytest.approx(p.tolist(), abs=1e-5)
    # the same weights without kanjo.json load as a multi-label model (sigmoid, 0.5)
    plain = tmp_path / "plain"
    shutil.copytree(torch_tags, plain, ignore=shutil.ignore_patterns("kanjo.json"))
    bare = kanjo.Classifier.load(plain, device="cpu")
    assert bare.task == "multi-label"
    assert bare.predict_proba(texts) == pytest.approx(proba, abs=1e-5)


def test_onnx_exports_keep_the_thresholds_and_the_scores(torch_tags: Path, tags_csv: Path,
                                                         tmp_path: Path, capsys) -> None:
    clf = kanjo.Classifier.load(torch_tags, device="cpu")
    texts = [text for text, _ in tag_rows(40, seed=9)]
    for name, extra in (("fp32", []), ("int8", ["--quantize", "int8"])):
        out = tmp_path / name
        code, _, err = run_cli(["export", str(torch_tags), "--out", str(out), *extra], capsys)
        assert code == 0, err
        exported = kanjo.Classifier.load(out)
        assert exported.task == "multi-label"
        assert exported.rule.thresholds.tolist() == clf.rule.thresholds.tolist()
        gap = np.abs(exported.predict_proba(texts) - clf.predict_proba(texts)).max()
        assert gap < (1e-4 if name == "fp32" else 0.05), (name, gap)
        if name == "fp32":
            assert exported.predict(texts) == clf.predict(texts)
            metrics = exported.evaluate(tags_csv)
            assert metrics["micro_f1"] == pytest.approx(clf.evaluate(tags_csv)["micro_f1"])


def test_embeddings_recipe_trains_one_vs_rest_heads(tiny_bert: Path, tags_csv: Path,
                                                    tmp_path: Path) -> None:
    clf = kanjo.train(tags_csv, tmp_path / "emb", model=str(tiny_bert), task="multi-label",
                      dev_split=0.25)
    assert clf.meta["recipe"]["name"] == "embeddings"  # auto: 180 training rows
    assert len(clf.meta["embeddings"]["C"]) == 4 and len(clf.meta["thresholds"]) == 4
    assert clf.meta["embeddings"]["encoder_tuning"]["method"] is None  # LP-FT: single labels
    note = clf.evaluate(tags_csv, split="dev")["note"]
    assert "the dev rows the model chose its decision thresholds on" in note
    again = kanjo.Classifier.load(tmp_path / "emb", device="cpu")
    texts = ["温泉は最高でした。"]
    assert again.predict_proba(texts) == pytest.approx(clf.predict_proba(texts), abs=1e-5)


def test_explain_attributes_a_labels_own_probability(tfidf_tags: Path) -> None:
    from kanjo.errors import ConfigError

    clf = kanjo.Classifier.load(tfidf_tags)
    [explained] = clf.explain(["朝食は最高でした、露天風呂が快適でした。"], target="温泉")
    assert explained.method == "occlusion"
    assert explained.probability == pytest.approx(float(clf.predict_proba(
        [explained.text])[0, clf.labels.names.index("温泉")]))
    assert max(explained.words, key=lambda w: w.score).word in ("露天", "風呂", "露天風呂")
    with pytest.raises(ConfigError, match="occlusion"):
        clf.explain(["温泉"], method="tfidf")


def test_server_returns_label_sets(tfidf_tags: Path, tmp_path: Path) -> None:
    with serving(tfidf_tags, log_dir=tmp_path) as server, server.client() as client:
        body = client.post("/v1/classify", json={"texts": ["朝食は最高でした。",
                                                           "駐車場は予約制です。"]}).json()
        assert [p["labels"] for p in body["predictions"]] == [["食事"], []]
        scores = client.post("/predict", json={"inputs": "朝食は最高でした。"}).json()
        assert scores[0]["label"] == "食事" and sum(s["score"] for s in scores) != \
            pytest.approx(1.0)
        assert client.get("/info").json()["task"] == "multi-label"


def test_evaluate_notes_only_the_thresholds_dev_rows_actually_chose(tmp_path: Path) -> None:
    """Too few dev positives for every label: all thresholds stay 0.5, and evaluate on the
    dev rows must not claim they were chosen there (the new-user trial's wrong note)."""
    data = write_tags(tmp_path / "few.csv", tag_rows(60, seed=3))
    clf = kanjo.train(data, tmp_path / "few", model="tfidf", task="multi-label", dev_split=0.1)
    assert clf.meta["thresholds_selection"]["tuned"] == [False] * 4
    assert clf.meta["thresholds"] == [0.5] * 4
    assert "every label kept the 0.5 threshold" in clf.meta["dev_metrics_note"]
    assert "note" not in clf.evaluate(data, split="dev")
    many = write_tags(tmp_path / "more.csv", tag_rows(120, seed=3))
    clf = kanjo.train(many, tmp_path / "more", model="tfidf", task="multi-label", dev_split=0.12)
    tuned = clf.meta["thresholds_selection"]["tuned"]
    assert 0 < sum(tuned) < 4, tuned  # some labels have five dev positives, some fewer
    assert f"chose {sum(tuned)} of its 4 decision thresholds on" in \
        clf.evaluate(many, split="dev")["note"]
