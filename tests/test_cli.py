"""End to end through the `kanjo` command on tiny real models built in the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kanjo.cli import main
from tests.conftest import TINY, cli_flags
from tests.conftest import run_cli as run
from tests.fault_injection import run_command

FAST = cli_flags(TINY)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, toy_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("runs") / "model"
    main(["train", str(toy_csv), "--out", str(out), "--model", str(tiny_bert), *FAST])
    return out


def test_train_writes_a_standard_model_directory(trained: Path) -> None:
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "kanjo.json", "logs"} <= names
    assert not list(trained.parent.glob(".model.*")), "no work or staging directory left"
    meta = json.loads((trained / "kanjo.json").read_text())
    assert meta["labels"] == ["negative", "neutral", "positive"]
    assert meta["data"]["train"]["rows"] == 120 and meta["data"]["dev"]["rows"] == 60
    assert len(meta["data"]["train"]["sha256"]) == 64
    assert meta["config"]["epochs"] == TINY["epochs"]
    assert meta["dev_metrics"]["macro_f1"] > 0.9
    assert list((trained / "logs").glob("events.out.tfevents.*")), "TensorBoard events"
    config = json.loads((trained / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}


def test_transformers_pipeline_returns_real_label_names(trained: Path) -> None:
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(trained))
    results = classify(["朝食は最高でした。", "部屋は最悪でした。", "駐車場は予約制です。"])
    assert [r["label"] for r in results] == ["positive", "negative", "neutral"]


def test_evaluate_json_and_table(trained: Path, toy_csv: Path, capsys) -> None:
    code, out, _ = run(["evaluate", str(trained), str(toy_csv), "--split", "dev", "--json"],
                       capsys)
    assert code == 0
    metrics = json.loads(out)
    assert {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "labels",
            "n"} <= set(metrics)
    assert metrics["n"] == 60
    assert np.sum(metrics["confusion_matrix"]) == 60
    assert metrics["macro_f1"] > 0.9
    code, out, _ = run(["evaluate", str(trained), str(toy_csv)], capsys)
    assert code == 0 and "confusion matrix" in out and "macro f1" in out


def test_predict_keeps_input_order_and_formats(trained: Path, tmp_path: Path, capsys) -> None:
    texts = ["温泉は最高でした。", "料理は最悪でした。", "ロビーは一階です。"] * 7
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    code, out, _ = run(["predict", str(trained), "--input", str(tmp_path / "in.txt"),
                        "--batch-size", "4"], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in rows] == texts
    assert [r["label"] for r in rows] == ["positive", "negative", "neutral"] * 7
    for row in rows:
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-5
        assert row["score"] == max(row["probabilities"].values())
    code, _, _ = run(["predict", str(trained), "良い部屋でした。", "--output",
                      str(tmp_path / "p.csv")], capsys)
    header = (tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()[0]
    assert code == 0 and header == "text,label,score,p_negative,p_neutral,p_positive"


def test_predict_warns_about_truncation(trained: Path, capsys) -> None:
    code, out, err = run(["predict", str(trained), "部屋は最高でした。" * 40], capsys)
    assert code == 0 and "1 text(s) longer than" in err


def test_python_api_round_trip(trained: Path, tmp_path: Path) -> None:
    import kanjo

    clf = kanjo.load(trained)
    proba = clf.predict_proba(["朝食は最高でした。", "部屋は最悪でした。"])
    assert proba.shape == (2, 3)
    copy = clf.save(tmp_path / "copy")
    again = kanjo.load(copy).predict_proba(["朝食は最高でした。", "部屋は最悪でした。"])
    np.testing.assert_allclose(proba, again, atol=1e-6)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("text,label\n朝食は最高。,positive\n   ,negative\n", "line 3: the text is empty"),
        ("text,label\n朝食は最高。,positive\n部屋は最悪。,angry\n", "line 3: label 'angry'"),
        ("text,label\n朝食は最高。,positive\n部屋は最高。,positive\n", "single class"),
    ],
)
def test_bad_training_data_exits_2_without_traceback(tmp_path, tiny_bert, capsys, content,
                                                      expected) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content, encoding="utf-8")
    code, _, err = run(["train", str(data), "--out", str(tmp_path / "m"), "--model",
                        str(tiny_bert), "--labels", "negative,positive"], capsys)
    assert code == 2
    assert expected in err and "bad.csv" in err
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_usage_errors_exit_2(tmp_path: Path, toy_csv: Path, capsys) -> None:
    code, _, err = run(["train", str(toy_csv), "--out", str(tmp_path / "m"), "--model",
                        str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "no such model directory" in err
    code, _, err = run(["train", str(toy_csv), "--out", str(tmp_path / "m"), "--epochs", "0"],
                       capsys)
    assert code == 2 and "epochs must be > 0" in err
    code, _, err = run(["predict", str(tmp_path / "none")], capsys)
    assert code == 2


def test_offline_hub_id_explains_what_to_do(tmp_path: Path, toy_csv: Path, capsys) -> None:
    code, _, err = run(["train", str(toy_csv), "--out", str(tmp_path / "m"), "--model",
                        "cl-tohoku/bert-base-japanese-v3"], capsys)
    assert code == 2
    assert "cl-tohoku/bert-base-japanese-v3" in err and "--model default" in err


def test_existing_output_is_not_replaced_without_overwrite(trained, toy_csv, capsys) -> None:
    before = (trained / "model.safetensors").stat().st_mtime_ns
    code, _, err = run(["train", str(toy_csv), "--out", str(trained), "--model", "tfidf"],
                       capsys)
    assert code == 2 and "already exists" in err
    assert (trained / "model.safetensors").stat().st_mtime_ns == before


def test_config_file_equals_flags(tmp_path: Path, tiny_bert: Path, toy_csv: Path) -> None:
    from kanjo.config import TrainConfig

    (tmp_path / "c.yaml").write_text("epochs: 3\nbatch-size: 8\nlabels: [negative, neutral, "
                                     "positive]\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text('epochs = 3\nbatch_size = 8\nlabels = "negative,neutral,'
                                     'positive"\n', encoding="utf-8")
    from_yaml = TrainConfig.from_file(tmp_path / "c.yaml", model=str(tiny_bert))
    from_toml = TrainConfig.from_file(tmp_path / "c.toml", model=str(tiny_bert))
    from_flags = TrainConfig(model=str(tiny_bert), epochs=3, batch_size=8,
                             labels=["negative", "neutral", "positive"])
    assert from_yaml == from_toml == from_flags
    assert TrainConfig.from_file(tmp_path / "c.yaml", epochs=5).epochs == 5


def test_killed_run_resumes_to_a_valid_model(tmp_path: Path, tiny_bert: Path,
                                             toy_csv: Path) -> None:
    out = tmp_path / "model"
    args = [sys.executable, "-m", "kanjo", "train", str(toy_csv), "--out", str(out), "--model",
            str(tiny_bert), *FAST, "--eval-steps", "8"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    checkpoints = tmp_path / ".model.partial" / "checkpoints"
    run = run_command(args, env, timeout=120,  # killed once its first checkpoint is complete
                      until=lambda: any(checkpoints.glob("checkpoint-*/trainer_state.json")))
    assert run.killed, "the run finished before it could be killed"
    assert not out.exists(), "a killed run leaves no model directory"
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "--resume" in done.stderr
    done = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    meta = json.loads((out / "kanjo.json").read_text())
    assert meta["train_steps"] == 240
    assert not (tmp_path / ".model.partial").exists()
    assert meta["dev_metrics"]["macro_f1"] > 0.8, meta["dev_metrics"]
    import kanjo

    assert kanjo.load(out).predict(["朝食は最高でした。"])[0] in meta["labels"]
