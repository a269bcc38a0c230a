"""The loss and optimiser options of the recipe: class weighting, label smoothing and
layer-wise learning-rate decay, each shown doing what it says on a tiny real model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kanjo
from kanjo.config import TrainConfig
from kanjo.errors import ConfigError
from kanjo.evaluation.metrics import classification_metrics
from kanjo.training.cross_validation import cross_validate
from kanjo.training.losses import class_weights, rdrop_divergence, training_loss
from kanjo.training.optimizer import parameter_groups
from kanjo.training.prepare import prepare_data
from tests.conftest import TINY as TINY_RECIPE
from tests.conftest import cli_flags, run_cli, toy_rows, write_csv

TINY = {**TINY_RECIPE, "dev_split": 0, "labels": "negative,positive"}


def test_balanced_class_weights() -> None:
    weights = class_weights(np.array([0, 0, 0, 1]), 2, "balanced")
    assert weights == pytest.approx([4 / 6, 2.0])
    assert class_weights(np.array([0, 1]), 2, "none") is None


def test_class_weight_balances_a_contested_text(tmp_path: Path, tiny_bert: Path) -> None:
    """The same texts labelled positive three times for every negative: plain cross-entropy
    learns p(positive) ≈ 0.75; balanced weights make both labels count alike (≈ 0.5)."""
    rows = [(text, "positive") for text, _ in toy_rows(30, seed=2, neutral=False)]
    rows = rows * 3 + [(text, "negative") for text, _ in rows]
    data = write_csv(tmp_path / "contested.csv", rows)
    plain = kanjo.train(data, tmp_path / "plain", model=str(tiny_bert), **TINY)
    balanced = kanjo.train(data, tmp_path / "balanced", model=str(tiny_bert),
                           class_weight="balanced", **TINY)
    assert balanced.meta["class_weights"] == pytest.approx([2.0, 2 / 3])
    text = [rows[0][0]]
    assert abs(plain.predict_proba(text)[0][1] - 0.75) < 0.1
    assert abs(balanced.predict_proba(text)[0][1] - 0.5) < 0.1


def test_label_smoothing_caps_confidence(tmp_path: Path, tiny_bert: Path) -> None:
    """On a separable set the smoothed target is 1 − 0.3 + 0.3/2 = 0.85, not 1."""
    rows = toy_rows(30, seed=4, neutral=False)
    data = write_csv(tmp_path / "toy.csv", rows)
    sharp = kanjo.train(data, tmp_path / "sharp", model=str(tiny_bert), **TINY)
    smooth = kanjo.train(data, tmp_path / "smooth", model=str(tiny_bert),
                         label_smoothing=0.3, **TINY)
    texts = [text for text, _ in rows]
    assert sharp.predict_proba(texts).max(axis=1).min() > 0.95
    top = smooth.predict_proba(texts).max(axis=1)
    assert np.all(np.abs(top - 0.85) < 0.07)
    assert smooth.predict(texts) == [label for _, label in rows]


def test_layer_decay_orders_the_learning_rates(tiny_bert: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=2)
    model.bert.embeddings.word_embeddings.weight.requires_grad = False
    groups = parameter_groups(model, 1e-3, 0.01, 0.5)
    rate = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert rate[id(named["classifier.weight"])] == (1e-3, 0.01)
    assert rate[id(named["bert.encoder.layer.1.output.dense.weight"])] == (5e-4, 0.01)
    assert rate[id(named["bert.encoder.layer.0.output.dense.weight"])] == (2.5e-4, 0.01)
    assert rate[id(named["bert.encoder.layer.0.output.LayerNorm.weight"])] == (2.5e-4, 0.0)
    assert rate[id(named["bert.embeddings.position_embeddings.weight"])] == (1.25e-4, 0.01)
    assert id(named["bert.embeddings.word_embeddings.weight"]) not in rate
    assert len(rate) == sum(p.requires_grad for p in model.parameters())
    flat = parameter_groups(model, 1e-3, 0.01, 1.0)
    assert {g["lr"] for g in flat} == {1e-3}


def test_rdrop_divergence_is_a_symmetric_kl() -> None:
    import torch

    a = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.0, 2.0], [0.0, 1.0]])
    assert rdrop_divergence(torch.cat([a, a])).item() == pytest.approx(0.0, abs=1e-7)
    p, q = torch.softmax(a, -1), torch.softmax(b, -1)
    kl = lambda x, z: (x * (x / z).log()).sum(-1).mean().item()  # noqa: E731
    expected = (kl(p, q) + kl(q, p)) / 2
    assert rdrop_divergence(torch.cat([a, b])).item() == pytest.approx(expected, rel=1e-5)
    assert rdrop_divergence(torch.cat([b, a])).item() == pytest.approx(expected, rel=1e-5)


def test_rdrop_trains_on_two_passes(tmp_path: Path, tiny_bert: Path) -> None:
    """With R-Drop each training batch goes through the model twice (as one doubled batch),
    and the model still learns the separable set."""
    import torch

    rows = toy_rows(20, seed=5, neutral=False)
    data = write_csv(tmp_path / "toy.csv", rows)
    clf = kanjo.train(data, tmp_path / "rdrop", model=str(tiny_bert), rdrop=1.0, **TINY)
    texts = [text for text, _ in rows]
    assert clf.predict(texts) == [label for _, label in rows]
    assert clf.meta["config"]["rdrop"] == 1.0

    model = clf.backend.model.train()
    batch = {"input_ids": torch.tensor([[2, 5, 6, 3], [2, 7, 3, 0]]),
             "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]),
             "labels": torch.tensor([0, 1])}
    rows_seen: list[int] = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: rows_seen.append(kwargs["input_ids"].shape[0]),
        with_kwargs=True)
    loss, _ = training_loss(model, dict(batch), rdrop=1.0)
    hook.remove()
    assert rows_seen == [4] and loss.item() > 0


@pytest.mark.parametrize("option", [{"layer_decay": 0}, {"layer_decay": 1.5},
                                    {"label_smoothing": 1.0}, {"class_weight": "inverse"},
                                    {"rdrop": -0.5}, {"average_checkpoints": -1}])
def test_recipe_options_are_validated(option: dict) -> None:
    with pytest.raises(ConfigError):
        TrainConfig(**option)


def test_weight_averager_averages_the_last_snapshots(tiny_bert: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    from kanjo.training.averaging import WeightAverager

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=2)
    averager = WeightAverager(keep=2)
    weight = model.classifier.weight
    for fill in (1.0, 2.0, 4.0):  # three checkpoints; only the last two are kept
        with torch.no_grad():
            weight.fill_(fill)
        averager.on_save(None, None, None, model=model)
    average = averager.average()
    assert torch.all(average["classifier.weight"] == 3.0)
    assert set(average) == {n for n, p in model.named_parameters() if p.requires_grad}


def test_average_checkpoints_is_scored_and_recorded(tmp_path: Path, tiny_bert: Path,
                                                    toy_csv: Path) -> None:
    options = {**TINY, "eval_steps": 10, "labels": None}
    clf = kanjo.train(toy_csv, tmp_path / "avg", model=str(tiny_bert), average_checkpoints=3,
                      **options)
    record = clf.meta["checkpoint_average"]
    assert record["checkpoints"] == 3
    assert record["used"] == (record["dev_macro_f1"] >= record["best_single_dev_macro_f1"])
    kept = record["dev_macro_f1"] if record["used"] else record["best_single_dev_macro_f1"]
    assert clf.meta["dev_metrics"]["macro_f1"] == pytest.approx(kept)
    # The saved model is the one that was scored: re-scoring it on the dev rows agrees.
    saved = kanjo.load(tmp_path / "avg")
    texts, labels = zip(*toy_rows(20, seed=1), strict=True)  # toy_csv's dev rows
    ids = saved.labels.label2id
    rescored = classification_metrics([ids[label] for label in labels],
                                      [ids[label] for label in saved.predict(list(texts))],
                                      saved.labels.names)["macro_f1"]
    assert rescored == pytest.approx(kept, abs=1e-6)
    assert kept > 0.8  # and it learnt the separable toy task


def test_average_checkpoints_without_dev_data(tmp_path: Path, tiny_bert: Path) -> None:
    """With no dev rows there is nothing to compare with: the average of the last checkpoints
    is the model."""
    rows = toy_rows(20, seed=7, neutral=False)
    data = write_csv(tmp_path / "toy.csv", rows)
    clf = kanjo.train(data, tmp_path / "avg", model=str(tiny_bert), average_checkpoints=2,
                      **{**TINY, "eval_steps": 10})
    assert clf.meta["checkpoint_average"] == {"checkpoints": 2, "used": True}
    assert clf.predict([text for text, _ in rows]) == [label for _, label in rows]


def test_pseudo_labels_from_predict_output(tmp_path: Path, tiny_bert: Path, toy_csv: Path,
                                           capsys) -> None:
    """Self-training: a teacher labels unlabelled text with `kanjo predict`; the student trains
    on the labelled rows plus a sample of those, the teacher's probabilities as targets, and
    never on a text that is in the labelled data (dev included)."""
    teacher = tmp_path / "teacher"
    kanjo.train(toy_csv, teacher, model=str(tiny_bert), **TINY_RECIPE)
    unlabelled = [text for text, _ in toy_rows(60, seed=9)]
    (tmp_path / "u.txt").write_text("\n".join(unlabelled) + "\n", encoding="utf-8")
    pseudo = tmp_path / "pseudo.jsonl"
    code, _, err = run_cli(["predict", str(teacher), "--input", str(tmp_path / "u.txt"),
                            "--output", str(pseudo)], capsys)
    assert code == 0, err

    labelled = {text for text, _ in toy_rows(40, seed=0) + toy_rows(20, seed=1)}
    fresh = [text for text in unlabelled if text not in labelled]
    assert 20 < len(fresh) < len(unlabelled)  # the toy sentences repeat: some are labelled
    config = TrainConfig(model=str(tiny_bert), pseudo_labels=str(pseudo), pseudo_rows=20,
                         **TINY_RECIPE)
    prepared = prepare_data(toy_csv, config)
    assert prepared.pseudo["rows"] == 20
    assert prepared.pseudo["skipped_labelled"] == len(unlabelled) - len(fresh)
    assert len(prepared.train) == 120 + 20 and len(prepared.dev) == 60
    gold, extra = prepared.soft_train[:120], prepared.soft_train[120:]
    np.testing.assert_array_equal(gold, np.eye(3)[prepared.y_train[:120]])
    teacher_says = {}
    for line in pseudo.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        teacher_says[row["text"]] = [row["probabilities"][n] for n in prepared.labels.names]
    np.testing.assert_allclose(extra, [teacher_says[t] for t in prepared.train.texts[120:]],
                               atol=1e-6)
    assert not set(prepared.train.texts[120:]) & labelled
    assert prepare_data(toy_csv, config).train.texts == prepared.train.texts  # seeded sample

    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "student"),
                            "--model", str(tiny_bert), "--pseudo-labels", str(pseudo),
                            "--pseudo-rows", "20", *cli_flags(TINY_RECIPE)], capsys)
    assert code == 0, err
    assert f"pseudo-labels: trained on 20 rows of {pseudo}" in err
    meta = json.loads((tmp_path / "student" / "kanjo.json").read_text())
    assert meta["data"]["pseudo_labels"]["rows"] == 20 and meta["data"]["train"]["rows"] == 120
    assert meta["dev_metrics"]["macro_f1"] > 0.9

    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "x"), "--model",
                            str(tiny_bert), "--pseudo-labels", str(pseudo), "--pseudo-rows",
                            str(len(fresh) + 1)], capsys)
    assert code == 2 and "pseudo.jsonl" in err and "fewer than" in err
    assert "Traceback" not in err and not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="leaks"):
        cross_validate(toy_csv, TrainConfig(model="tfidf", pseudo_labels=str(pseudo)))

