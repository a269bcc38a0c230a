"""The small-data recipe: frozen-encoder embeddings + a cross-fitted logistic-regression head,
then LP-FT with a cross-fitted temperature (``recipe: embeddings``, and what ``recipe: auto``
picks below 500 training rows)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kanjo
from kanjo.config import TrainConfig
from kanjo.errors import ConfigError
from kanjo.evaluation.calibration import calibration, softmax
from kanjo.models.sentence_encoder import SentenceEncoder
from kanjo.training import encoder_tuning
from kanjo.training.embedding_head import fit_head
from kanjo.training.recipe import EMBEDDINGS_BELOW, choose_recipe
from tests.conftest import run_cli, toy_rows, write_csv


def overlapping_classes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian classes in 20 dimensions whose means are close, so that about a third
    of the rows are misclassified by the best linear rule: overconfidence would show."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    means = rng.normal(0, 1, (3, 20)) * 0.35
    return means[y] + rng.normal(0, 1, (n, 20)), y


def test_auto_picks_embeddings_below_the_threshold() -> None:
    config = TrainConfig()
    assert choose_recipe(config, 64)[0] == "embeddings"
    assert choose_recipe(config, EMBEDDINGS_BELOW - 1)[0] == "embeddings"
    assert choose_recipe(config, EMBEDDINGS_BELOW)[0] == "finetune"
    assert choose_recipe(TrainConfig(recipe="finetune"), 64)[0] == "finetune"
    assert choose_recipe(TrainConfig(recipe="embeddings"), 5000)[0] == "embeddings"
    assert choose_recipe(TrainConfig(model="tfidf"), 64)[0] == "tfidf"
    assert "64 training rows" in choose_recipe(config, 64)[1]


def test_unknown_recipe_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="recipe"):
        TrainConfig(recipe="setfit")


def test_head_is_calibrated_on_rows_it_never_saw() -> None:
    """200 training rows of overlapping classes: the cross-fitted temperature makes the mean
    top probability on 4,000 new rows match their accuracy."""
    x, y = overlapping_classes(4200, seed=1)
    head = fit_head(x[:200], y[:200], 3, seed=0)
    assert head.info["cross_fitted"] and head.info["folds"] == 5
    proba = softmax(head.logits(x[200:]))
    accuracy = float((proba.argmax(axis=1) == y[200:]).mean())
    assert 0.45 < accuracy < 0.9  # the task is hard enough for calibration to matter
    assert calibration(y[200:], proba)["ece"] < 0.05
    uncalibrated = fit_head(x[:200], y[:200], 3, seed=0, calibrate=False)
    assert uncalibrated.info["temperature"] == 1.0
    assert uncalibrated.info["C"] == head.info["C"]


def test_head_does_not_depend_on_the_scale_of_the_features() -> None:
    """Features are standardised and the scaler folded into the head: an affine change of the
    vectors gives the same probabilities."""
    x, y = overlapping_classes(150, seed=2)
    plain, scaled = fit_head(x, y, 3, seed=0), fit_head(x * 7 + 3, y, 3, seed=0)
    assert plain.info["C"] == scaled.info["C"]
    np.testing.assert_allclose(softmax(scaled.logits(x * 7 + 3)), softmax(plain.logits(x)),
                               atol=1e-4)


def test_head_learns_vote_shares() -> None:
    """Class-1 rows whose votes split 50/50 between labels 1 and 2: with the votes as soft
    labels the head puts about half its probability on each; with hard labels, on label 1."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    x = np.eye(2)[y] * 3 + rng.normal(0, 0.3, (300, 2))
    soft = np.zeros((300, 3))
    soft[y == 0, 0] = 1.0
    soft[y == 1, 1:] = 0.5
    y3 = np.where(y == 0, 0, 1)
    probe = np.array([[0.0, 3.0]])
    voted = softmax(fit_head(x, y3, 3, seed=0, soft=soft).logits(probe))[0]
    hard = softmax(fit_head(x, y3, 3, seed=0).logits(probe))[0]
    assert abs(voted[1] - 0.5) < 0.1 and abs(voted[2] - 0.5) < 0.1
    assert hard[1] > 0.8 and hard[2] < 1e-3


def test_embeddings_recipe_trains_saves_and_loads(tmp_path: Path, tiny_bert: Path,
                                                  toy_csv: Path) -> None:
    clf = kanjo.train(toy_csv, tmp_path / "m", model=str(tiny_bert))
    meta = json.loads((tmp_path / "m" / "kanjo.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "embedding"
    assert meta["recipe"]["name"] == "embeddings" and "120 training rows" in \
        meta["recipe"]["reason"]
    assert meta["embeddings"]["cross_fitted"] and meta["temperature"] == 1.0
    assert "calibration" not in meta  # dev rows are scored, nothing is fitted on them
    assert {"model.safetensors", "config.json", "pooled_classifier.py"} <= {
        p.name for p in (tmp_path / "m").iterdir()}
    # LP-FT ran on the 120 single-text rows: the schedule of encoder_tuning and a temperature
    # from its 3 cross-fitted runs; the transformer layers moved, the word embeddings did not
    tuning = meta["embeddings"]["encoder_tuning"]
    assert tuning["method"].startswith("LP-FT") and tuning["calibration_folds"] == 3
    assert (tuning["epochs"], tuning["steps"]) == encoder_tuning.schedule(120) == (8, 64)
    assert 0.05 < tuning["temperature"] < 20 and tuning["freeze_embeddings"]
    assert meta["embeddings"]["temperature"] == tuning["temperature"]  # the one in the head
    assert "frozen_head_temperature" in meta["embeddings"]
    assert "LP-FT" in meta["embeddings"]["calibration"]
    base, tuned = _encoder_weights(tiny_bert), _encoder_weights(tmp_path / "m")
    assert np.array_equal(base["embeddings.word_embeddings.weight"],
                          tuned["embeddings.word_embeddings.weight"])
    for layer in (0, 1):
        name = f"encoder.layer.{layer}.attention.self.query.weight"
        assert not np.allclose(base[name], tuned[name]), name
    # a random-init 2-layer encoder's mean-pooled vectors still separate the toy classes, and
    # LP-FT keeps them apart (seeds 42, 1, 2: 0.88, 0.93, 0.88; frozen: 0.92 each)
    assert meta["dev_metrics"]["macro_f1"] > 0.85, meta["dev_metrics"]
    loaded = kanjo.load(tmp_path / "m")
    texts = ["温泉は最高でした。", "料理は最悪でした。", "ロビーは一階です。"]
    np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    assert loaded.predict(texts) == ["positive", "negative", "neutral"]
    metrics = loaded.evaluate(toy_csv, split="dev")
    assert metrics["n"] == 60
    assert metrics["macro_f1"] == pytest.approx(meta["dev_metrics"]["macro_f1"])
    assert "note" not in metrics  # nothing was chosen on them: they are held out


def _encoder_weights(directory: Path) -> dict[str, np.ndarray]:
    """The encoder tensors of a model directory, named as in a bare ``AutoModel`` (a masked
    LM's ``bert.`` prefix and an embeddings-recipe model's ``encoder.`` dropped)."""
    from safetensors.numpy import load_file

    weights = load_file(str(directory / "model.safetensors"))
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    prefix = "encoder." if config["model_type"] == "kanjo-pooled" else "bert."
    return {name.removeprefix(prefix): value for name, value in weights.items()
            if not name.startswith("head.")}


def test_frozen_encoder_when_tuning_is_off_or_impossible(tmp_path: Path, tiny_bert: Path,
                                                         toy_csv: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    """``--no-tune-encoder`` saves the base encoder unchanged; so does a class with fewer
    training rows than LP-FT's calibration folds, and kanjo.json says why."""
    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "f"), "--model",
                            str(tiny_bert), "--no-tune-encoder"], capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "f" / "kanjo.json").read_text(encoding="utf-8"))
    assert meta["embeddings"]["encoder_tuning"] == {"method": None,
                                                    "reason": "tune_encoder is off"}
    base, saved = _encoder_weights(tiny_bert), _encoder_weights(tmp_path / "f")
    assert all(np.array_equal(base[name], value) for name, value in saved.items())
    rows = toy_rows(10, seed=4, neutral=False) + [("ロビーは一階です。", "neutral")] * 2
    data = write_csv(tmp_path / "rare.csv", rows)
    clf = kanjo.train(data, tmp_path / "rare", model=str(tiny_bert), dev_split=0)
    reason = clf.meta["embeddings"]["encoder_tuning"]["reason"]
    assert clf.meta["embeddings"]["encoder_tuning"]["method"] is None
    assert "a class has 2 training rows, fewer than the 3 calibration folds" in reason


def test_tuning_fits_the_training_rows_better_than_the_frozen_head(tiny_bert: Path) -> None:
    """:func:`encoder_tuning.tune` trains the encoder and the head together: the training rows'
    negative log-likelihood falls below the frozen head's (192 steps at lr 2e-5 on 48 rows of
    the tiny random BERT: 0.158 → 0.137), and the returned head scores the tuned encoder's
    vectors."""
    rows = toy_rows(16, seed=5)
    texts = [text for text, _ in rows]
    names = sorted({label for _, label in rows})
    y = np.array([names.index(label) for _, label in rows])
    encoder = SentenceEncoder.load(tiny_bert, 64, device="cpu")
    vectors, _ = encoder.embed(texts)
    head = fit_head(vectors, y, 3, seed=0)

    def nll(logits: np.ndarray) -> float:
        return float(-np.log(softmax(logits)[np.arange(len(y)), y]).mean())

    before = nll(head.logits(vectors))
    tuned = encoder_tuning.tune(encoder, head, texts, y, None, epochs=64, seed=0)
    after = nll(tuned.logits(encoder.embed(texts)[0]))
    assert after < 0.9 * before, (before, after)
    assert not np.allclose(tuned.weight, head.weight)


def test_recipe_flag_on_the_command_line(tmp_path: Path, tiny_bert: Path, toy_csv: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "m"), "--model",
                            str(tiny_bert), "--recipe", "embeddings"], capsys)
    assert code == 0, err
    assert kanjo.load(tmp_path / "m").backend.kind == "embedding"
    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "x"), "--recipe",
                            "bogus"], capsys)
    assert code == 2 and "recipe" in err


def test_a_head_at_chance_level_is_warned_about(tmp_path: Path, tiny_bert: Path,
                                                toy_csv: Path) -> None:
    """Labels drawn independently of the texts: the cross-fitted head can do no better than
    the label frequencies, and training says so; learnable labels get no such warning."""
    import random
    import warnings

    from kanjo.errors import DataWarning

    rng = random.Random(3)
    rows = [(text, rng.choice(["a", "b", "c"])) for text, _ in toy_rows(30, seed=3)]
    noise = write_csv(tmp_path / "noise.csv", rows)
    with pytest.warns(DataWarning, match="no better than the label frequencies") as caught:
        kanjo.train(noise, tmp_path / "noise", model=str(tiny_bert), tune_encoder=False)
    assert any(str(noise) in str(w.message) for w in caught)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        kanjo.train(toy_csv, tmp_path / "toy", model=str(tiny_bert), tune_encoder=False)
    assert not [w for w in seen if "label frequencies" in str(w.message)]
