"""Cross-validation and temperature-scaled probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kanjo
from kanjo.config import TrainConfig
from kanjo.evaluation.calibration import calibration, fit_temperature, softmax
from kanjo.training.cross_validation import cross_validate
from tests.conftest import TINY
from tests.conftest import run_cli as run


def test_fit_temperature_recovers_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 3)) * 2
    y = np.array([rng.choice(3, p=p) for p in softmax(true_logits)])
    temperature = fit_temperature(true_logits * 4, y)
    assert 3.5 < temperature < 4.5
    before = calibration(y, softmax(true_logits * 4))
    after = calibration(y, softmax(true_logits * 4, temperature))
    assert after["nll"] < before["nll"] and after["ece"] < before["ece"]


def test_training_folds_the_temperature_into_the_head(tmp_path: Path, tiny_bert: Path,
                                                      toy_csv: Path) -> None:
    """The fitted temperature is recorded and folded into the saved head: kanjo, the saved
    model's raw logits and transformers' own pipeline give the same calibrated probabilities."""
    from transformers import pipeline

    kanjo.train(toy_csv, tmp_path / "m", model=str(tiny_bert), **TINY)
    plain = kanjo.train(toy_csv, tmp_path / "p", model=str(tiny_bert), calibrate=False, **TINY)
    meta = json.loads((tmp_path / "m" / "kanjo.json").read_text())
    fitted = meta["calibration"]["temperature"]
    assert fitted != 1.0 and meta["calibration"]["in_head"] and meta["temperature"] == 1.0
    assert "ece" in meta["dev_metrics"] and "ece_uncalibrated" in meta
    loaded = kanjo.load(tmp_path / "m")
    texts = ["朝食は最高でした。", "部屋は最悪でした。", "駐車場は一階です。"]
    scores, _ = loaded.backend.logits(texts, 8)
    proba = loaded.predict_proba(texts)
    np.testing.assert_allclose(proba, softmax(scores), atol=1e-6)
    # same seed, same data: the uncalibrated twin's logits divided by the temperature
    raw, _ = kanjo.load(tmp_path / "p").backend.logits(texts, 8)
    np.testing.assert_allclose(proba, softmax(raw, fitted), atol=1e-4)
    classify = pipeline("text-classification", model=str(tmp_path / "m"), top_k=None)
    for scored, row in zip(classify(texts), proba, strict=True):
        got = {d["label"]: d["score"] for d in scored}
        np.testing.assert_allclose([got[n] for n in loaded.labels.names], row, atol=1e-5)
    assert plain.temperature == 1.0 and "calibration" not in plain.meta


def test_cv_tfidf_folds_and_summary(toy_csv: Path) -> None:
    report = cross_validate(toy_csv, TrainConfig(model="tfidf"), folds=3)
    assert [f["fold"] for f in report["folds"]] == [1, 2, 3]
    assert sum(f["n"] for f in report["folds"]) == report["n"] == 180
    macro = [f["macro_f1"] for f in report["folds"]]
    assert report["summary"]["macro_f1"]["mean"] == pytest.approx(np.mean(macro))
    assert report["summary"]["macro_f1"]["sd"] == pytest.approx(np.std(macro, ddof=1))


def test_cv_fold_seed_fixes_the_folds(toy_csv: Path) -> None:
    """Two training seeds on the same folds (paired comparison); another fold seed moves them."""
    def folds(seed: int, fold_seed: int | None) -> list[int]:
        return cross_validate(toy_csv, TrainConfig(model="tfidf", seed=seed), folds=3,
                              fold_seed=fold_seed)["fold"]

    assert folds(1, 42) == folds(2, 42) == folds(42, None)
    assert folds(42, 7) != folds(42, None)


def test_cv_out_of_fold_predictions(toy_csv: Path, tmp_path: Path, capsys) -> None:
    """Every row is scored once, by the fold model that did not train on it, and the per-fold
    metrics are those of these very probabilities."""
    report = cross_validate(toy_csv, TrainConfig(model="tfidf"), folds=3)
    proba, fold, y = (np.asarray(report[k]) for k in ("oof_proba", "fold", "y"))
    assert sorted(report["rows"]) == list(range(180)) and proba.shape == (180, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.bincount(fold).tolist() == [0, 60, 60, 60]
    for k, metrics in enumerate(report["folds"], start=1):
        accuracy = (proba[fold == k].argmax(axis=1) == y[fold == k]).mean()
        assert metrics["accuracy"] == pytest.approx(accuracy)
    assert (proba.argmax(axis=1) == y).mean() > 0.8  # the toy set is separable

    out = tmp_path / "oof.csv"
    code, stdout, err = run(["cv", str(toy_csv), "--folds", "3", "--model", "tfidf",
                             "--predictions", str(out), "--json"], capsys)
    assert code == 0, err
    assert "oof_proba" not in json.loads(stdout)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,fold,gold,predicted,p_negative,p_neutral,p_positive"
    assert len(lines) == 181

    missing = tmp_path / "no-such-folder" / "oof.csv"
    code, _, err = run(["cv", str(toy_csv), "--folds", "3", "--model", "tfidf",
                        "--predictions", str(missing)], capsys)
    assert code == 2 and "folder does not exist" in err and str(missing) in err


def test_cv_command_on_a_tiny_transformer(tmp_path: Path, tiny_bert: Path, toy_csv: Path,
                                          capsys) -> None:
    config = tmp_path / "c.toml"
    config.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in TINY.items()) + "\n")
    code, out, err = run(["cv", str(toy_csv), "--folds", "2", "--model", str(tiny_bert),
                          "--config", str(config), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert len(report["folds"]) == 2 and report["summary"]["macro_f1"]["mean"] > 0.5
    code, _, err = run(["cv", str(toy_csv), "--folds", "1", "--model", "tfidf"], capsys)
    assert code == 2 and "at least 2" in err
