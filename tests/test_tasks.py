"""Sentence pairs and regression (issue #15) on tiny real models: a pair label that depends on
both texts, a regression that learns a monotone score, pipeline compatibility, ONNX parity,
cross-validation, the TF-IDF baseline and bad input."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import NEGATIVE, POSITIVE, SHARED, SUBJECTS, TINY, run_cli

JRTE_RTE = SHARED / "jrte-rte" / "rte.nlp2020_base.train-dev.tsv"


def agreement_rows(n: int, seed: int) -> list[dict[str, str]]:
    """Pairs of review sentences labelled by the sentiment of both, in order: "pos-neg" is a
    positive first and a negative second text. One text alone gets at most half of them right,
    and the order of the pair matters."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        first, second = rng.random() < 0.5, rng.random() < 0.5
        rows.append({
            "sentence1": f"{rng.choice(SUBJECTS)}{rng.choice(POSITIVE if first else NEGATIVE)}。",
            "sentence2": f"{rng.choice(SUBJECTS)}{rng.choice(POSITIVE if second else NEGATIVE)}。",
            "label": f"{'pos' if first else 'neg'}-{'pos' if second else 'neg'}"})
    return rows


def intensity_rows(n: int, seed: int) -> list[dict[str, object]]:
    """Texts whose score is how many times とても is said (0–4), about two random subjects."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        k = rng.randrange(5)
        first, second = rng.sample(SUBJECTS, 2)
        rows.append({"text": f"{first}と{second}が{'とても' * k}良かった。", "score": float(k)})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def train_dev_files(factory: pytest.TempPathFactory, name: str, rows: Callable[..., list[dict]],
                    train: int, dev: int, seed: int) -> dict[str, Path]:
    """train.jsonl and dev.jsonl of ``rows(n, seed)`` (dev from the next seed)."""
    root = factory.mktemp(name)
    return {"train": write_jsonl(root / "train.jsonl", rows(train, seed=seed)),
            "dev": write_jsonl(root / "dev.jsonl", rows(dev, seed=seed + 1))}


@pytest.fixture(scope="module")
def pair_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return train_dev_files(tmp_path_factory, "pairs", agreement_rows, 240, 60, seed=0)


@pytest.fixture(scope="module")
def pair_model(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path,
               pair_data: dict[str, Path]) -> Path:
    import kanjo

    out = tmp_path_factory.mktemp("pair-model") / "model"
    kanjo.train(pair_data["train"], out, model=str(tiny_bert), dev=str(pair_data["dev"]),
                **dict(TINY, epochs=40))
    return out


@pytest.fixture(scope="module")
def regression_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return train_dev_files(tmp_path_factory, "regression", intensity_rows, 160, 60, seed=2)


@pytest.fixture(scope="module")
def regression_model(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path,
                     regression_data: dict[str, Path]) -> Path:
    import kanjo

    out = tmp_path_factory.mktemp("regression-model") / "model"
    kanjo.train(regression_data["train"], out, model=str(tiny_bert), task="regression",
                label_column="score", dev=str(regression_data["dev"]), **dict(TINY, epochs=20))
    return out


def test_a_pair_label_that_needs_both_texts_is_learnt(pair_model: Path,
                                                      pair_data: dict[str, Path]) -> None:
    import kanjo

    clf = kanjo.load(pair_model)
    assert clf.meta["pairs"] is True and clf.meta["task"] == "classification"
    assert clf.meta["dev_metrics"]["accuracy"] >= 0.9
    # the same first text flips its label with the second: the model reads both
    good, bad = "部屋は最高でした。", "朝食は最悪でした。"
    assert clf.predict([(good, "温泉が快適でした。"), (good, "接客はひどい。"),
                        (bad, "眺めは素晴らしい。"), (bad, "眺めに不満です。")]) == [
        "pos-pos", "pos-neg", "neg-pos", "neg-neg"]
    # a pair model takes pairs only, and a DataFrame with two text columns
    import pandas as pd

    frame = pd.DataFrame(agreement_rows(30, seed=9))
    assert clf.evaluate(frame)["accuracy"] >= 0.8
    with pytest.raises(kanjo.KanjoError, match="reads sentence pairs"):
        clf.predict([good])
    with pytest.raises(kanjo.KanjoError, match="reads sentence pairs; explain"):
        clf.explain([(good, bad)])


def test_pair_inputs_carry_segment_ids(pair_model: Path) -> None:
    from transformers import AutoTokenizer

    from kanjo.models.tokenize import encode_inputs

    tokenizer = AutoTokenizer.from_pretrained(pair_model)
    ids, types, _ = encode_inputs(tokenizer, [("部屋", "朝食")], 32)
    expected = tokenizer("部屋", "朝食")
    assert ids == [expected["input_ids"]] and types == [expected["token_type_ids"]]
    assert 1 in types[0]


def test_a_regression_learns_a_monotone_score(regression_model: Path,
                                              regression_data: dict[str, Path]) -> None:
    import kanjo

    clf = kanjo.load(regression_model)
    meta = clf.meta
    assert meta["task"] == "regression" and meta["labels"] == ["score"]
    assert meta["target_range"] == [0.0, 4.0]
    assert meta["calibration"]["method"] is None
    assert "Pearson" in meta["checkpoint_selection"]
    assert meta["dev_metrics"]["spearman"] >= 0.9
    values = clf.predict_values([f"部屋と朝食が{'とても' * k}良かった。" for k in range(5)])
    assert np.all(np.diff(values) > 0)  # monotone in the intensity
    config = json.loads((regression_model / "config.json").read_text())
    assert config["problem_type"] == "regression" and config["id2label"] == {"0": "score"}
    metrics = clf.evaluate(regression_data["dev"], label_column="score")
    assert set(metrics) >= {"pearson", "spearman", "rmse", "mae"}
    assert metrics["rmse"] < 1.0
    clipped = clf.predict_values(["部屋と温泉が" + "とても" * 12 + "良かった。"], clip=True)
    assert 0.0 <= clipped[0] <= 4.0
    with pytest.raises(kanjo.KanjoError, match="class probabilities"):
        clf.predict_proba(["部屋"])


def test_transformers_pipeline_gives_the_raw_value_and_pair_probabilities(
        regression_model: Path, pair_model: Path) -> None:
    from transformers import pipeline

    import kanjo

    text = "部屋がとてもとても良かった。"
    raw = pipeline("text-classification", model=str(regression_model))(text)[0]
    assert raw["label"] == "score"
    assert raw["score"] == pytest.approx(float(kanjo.load(regression_model).predict_values(
        [text])[0]), abs=1e-4)
    pair = ("部屋は最高でした。", "接客はひどい。")
    got = pipeline("text-classification", model=str(pair_model), top_k=None)(
        {"text": pair[0], "text_pair": pair[1]})
    clf = kanjo.load(pair_model)
    proba = clf.predict_proba([pair])[0]
    by_label = {row["label"]: row["score"] for row in got}
    assert by_label == pytest.approx(dict(zip(clf.labels.names, proba.tolist(), strict=True)),
                                     abs=1e-4)


def test_onnx_exports_match_torch_for_pairs_and_regression(pair_model: Path,
                                                           regression_model: Path,
                                                           tmp_path: Path) -> None:
    import onnxruntime as ort

    import kanjo
    from kanjo.export.onnx import export

    pairs = [(a["sentence1"], a["sentence2"]) for a in agreement_rows(12, seed=4)]
    export(pair_model, tmp_path / "pair")
    names = {i.name for i in ort.InferenceSession(str(tmp_path / "pair" / "model.onnx"))
             .get_inputs()}
    assert "token_type_ids" in names
    np.testing.assert_allclose(kanjo.load(tmp_path / "pair").predict_proba(pairs),
                               kanjo.load(pair_model).predict_proba(pairs), atol=1e-4)
    texts = [f"朝食が{'とても' * k}良かった。" for k in range(5)]
    torch_values = kanjo.load(regression_model).predict_values(texts)
    export(regression_model, tmp_path / "regression")
    np.testing.assert_allclose(kanjo.load(tmp_path / "regression").predict_values(texts),
                               torch_values, atol=1e-4)
    # int8 (calibrated on the training texts): within a tenth of the 0–4 range, same order
    export(regression_model, tmp_path / "int8", quantize="int8")
    int8_values = kanjo.load(tmp_path / "int8").predict_values(texts)
    np.testing.assert_allclose(int8_values, torch_values, atol=0.4)
    assert np.all(np.diff(int8_values) > 0)


def test_predict_command_writes_pairs_and_values(pair_model: Path, regression_model: Path,
                                                 pair_data: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pairs.csv"
    code, _, err = run_cli(["predict", str(pair_model), "--input", str(pair_data["dev"]),
                            "--output", str(out)], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    # the input's columns carried through, then the prediction (its label column renamed, as
    # the input has one), every pair's label from both texts
    assert len(rows) == 60 and list(rows[0])[:5] == ["sentence1", "sentence2", "label",
                                                     "kanjo_label", "score"]
    assert sum(r["label"] == r["kanjo_label"] for r in rows) >= 54
    code, stdout, err = run_cli(["predict", str(regression_model), "部屋がとても良かった。"],
                                capsys)
    assert code == 0, err
    assert set(json.loads(stdout)) == {"text", "value"}
    code, stdout, err = run_cli(["evaluate", str(regression_model), str(pair_data["dev"])],
                                capsys)
    assert code == 2 and "line 1" in err and "not a number" in err  # pos-pos is no score
    code, stdout, err = run_cli(["evaluate", str(pair_model), str(pair_data["dev"])], capsys)
    assert code == 0 and "macro f1" in stdout


def test_downstream_commands_refuse_a_regression_with_one_message(
        regression_model: Path, regression_data: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    import kanjo
    from kanjo.serve.app import create_app

    clf = kanjo.load(regression_model)
    with pytest.raises(kanjo.KanjoError, match="regression model"):
        clf.explain(["部屋がとても良かった。"])
    with pytest.raises(kanjo.KanjoError, match="regression model"):
        create_app(regression_model)
    code, _, err = run_cli(["label-issues", str(regression_data["train"]), "--task",
                            "regression", "--label-column", "score", "--model", "tfidf"], capsys)
    assert code == 2 and "label-issues" in err and "Traceback" not in err


def test_tfidf_covers_pairs_and_regression(pair_data: dict[str, Path],
                                           regression_data: dict[str, Path],
                                           tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import kanjo

    pairs = kanjo.train(pair_data["train"], tmp_path / "pairs", model="tfidf",
                        dev=str(pair_data["dev"]))
    assert pairs.meta["pairs"] is True
    reloaded = kanjo.load(tmp_path / "pairs")
    sample = [("部屋は最高でした。", "接客はひどい。")]
    np.testing.assert_allclose(reloaded.predict_proba(sample), pairs.predict_proba(sample))
    scores = kanjo.train(regression_data["train"], tmp_path / "scores", model="tfidf",
                         task="regression", label_column="score", dev=str(regression_data["dev"]))
    assert scores.meta["dev_metrics"]["pearson"] > 0.8
    summaries = capsys.readouterr().err
    assert "n-grams + logistic regression" in summaries
    assert "n-grams + ridge regression" in summaries
    np.testing.assert_allclose(kanjo.load(tmp_path / "scores").predict_values(["部屋が良かった。"]),
                               scores.predict_values(["部屋が良かった。"]))


@pytest.mark.parametrize("model", ["tiny", "tfidf"])
def test_pairs_with_label_sets(model: str, tiny_bert: Path, tmp_path: Path) -> None:
    """Sentence pairs × multi-label: the set holds "first" when the first text is positive and
    "second" when the second is; two negatives make the empty set. A model that read one text
    could get at most half of the tags right."""
    import kanjo

    def tag_pairs(n: int, seed: int) -> list[dict[str, object]]:
        rows = agreement_rows(n, seed)
        for row in rows:
            first, second = str(row.pop("label")).split("-")
            row["tags"] = [name for name, sign in (("first", first), ("second", second))
                           if sign == "pos"]
        return rows

    train = write_jsonl(tmp_path / "train.jsonl", tag_pairs(240, seed=10))
    dev = write_jsonl(tmp_path / "dev.jsonl", tag_pairs(60, seed=11))
    # At TINY's lr 3e-3, two training seeds in three left the first text's tag at its prior
    # (dev subset accuracy 0.65); at 1e-3 seeds 42 and 1-5 reached 1.0, and seeds 42 and 1-7
    # all got the four pairs below right.
    options = dict(TINY, epochs=40, lr=1e-3, model=str(tiny_bert)) if model == "tiny" \
        else {"model": "tfidf"}
    clf = kanjo.train(train, tmp_path / "model", task="multi-label", label_column="tags",
                      dev=str(dev), **options)
    assert clf.meta["pairs"] is True and clf.meta["task"] == "multi-label"
    good, bad = "部屋は最高でした。", "朝食は最悪でした。"
    pairs = [(good, "温泉が快適でした。"), (good, "接客はひどい。"), (bad, "眺めは素晴らしい。"),
             (bad, "眺めに不満です。")]
    expected = [["first", "second"], ["first"], ["second"], []]
    reloaded = kanjo.load(tmp_path / "model")
    assert reloaded.predict(pairs) == expected
    assert reloaded.evaluate(dev, label_column="tags")["subset_accuracy"] >= 0.9
    proba = reloaded.predict_proba(pairs)
    assert proba.shape == (4, 2) and not np.allclose(proba.sum(axis=1), 1.0), "sigmoid each"


def test_cv_keeps_a_premise_in_one_fold(tmp_path: Path) -> None:
    from kanjo.config import TrainConfig
    from kanjo.training.cross_validation import cross_validate

    rows = agreement_rows(120, seed=6)
    for i, row in enumerate(rows):  # each premise asked with three hypotheses
        row["sentence1"] = rows[i - i % 3]["sentence1"]
    data = write_jsonl(tmp_path / "nli.jsonl", rows)
    report = cross_validate(data, TrainConfig(model="tfidf"), folds=3)
    fold_of: dict[str, set[int]] = {}
    for row, fold in zip(report["rows"], report["fold"], strict=True):
        fold_of.setdefault(rows[row]["sentence1"], set()).add(fold)
    assert all(len(folds) == 1 for folds in fold_of.values())
    scores = write_jsonl(tmp_path / "scores.jsonl", intensity_rows(90, seed=7))
    report = cross_validate(scores, TrainConfig(model="tfidf", task="regression",
                                                label_column="score"), folds=3)
    assert report["summary"]["pearson"]["mean"] > 0.5 and "rmse" in report["summary"]


def test_embeddings_recipe_takes_texts_pairs_and_pair_regressions() -> None:
    from kanjo.config import TrainConfig
    from kanjo.errors import ConfigError
    from kanjo.training.recipe import EMBEDDINGS_BELOW, PAIR_EMBEDDINGS_BELOW, choose_recipe

    recipe, reason = choose_recipe(TrainConfig(task="regression"), 40)
    assert recipe == "finetune" and "regression" in reason
    with pytest.raises(ConfigError, match="regression of single texts"):
        choose_recipe(TrainConfig(recipe="embeddings", task="regression"), 40)
    # a sentence-pair regression is a bi-encoder at every size
    for rows in (40, 100_000):
        recipe, reason = choose_recipe(TrainConfig(task="regression"), rows, pairs=True)
        assert recipe == "embeddings" and "bi-encoder" in reason
    assert choose_recipe(TrainConfig(), 40)[0] == "embeddings"
    # pairs switch later: on JNLI's 1,950 pairs the embeddings recipe leads fine-tuning
    assert choose_recipe(TrainConfig(), EMBEDDINGS_BELOW, pairs=True)[0] == "embeddings"
    recipe, reason = choose_recipe(TrainConfig(), PAIR_EMBEDDINGS_BELOW, pairs=True)
    assert recipe == "finetune" and f"{PAIR_EMBEDDINGS_BELOW} training pairs" in reason
    with pytest.raises(ConfigError, match="task must be one of"):
        TrainConfig(task="ranking")


def test_embeddings_recipe_reads_both_texts_of_a_pair(trained: Path,
                                                      pair_data: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """`recipe: auto` on 240 pairs: the frozen encoder's vectors of both texts and a linear head
    on [u, v, |u-v|, u*v]. The four labels need both texts (one alone gets at most half). The
    encoder is the tiny BERT fine-tuned on the toy sentiment set: like a pretrained encoder's,
    its vectors hold what the texts say (the random tiny BERT's reach 0.78 accuracy here)."""
    import kanjo
    from kanjo.models.sentence_encoder import PAIR_FEATURES

    clf = kanjo.train(pair_data["train"], tmp_path / "model", model=str(trained),
                      dev=str(pair_data["dev"]))
    assert clf.meta["recipe"]["name"] == "embeddings" and clf.meta["pairs"] is True
    assert "240 training pairs" in clf.meta["recipe"]["reason"]
    reloaded = kanjo.load(tmp_path / "model")
    head = reloaded.backend.head
    assert head.features == PAIR_FEATURES and head.weight.shape == (4, 4 * 64)
    assert clf.meta["embeddings"]["encoder_tuning"]["method"] is None  # LP-FT: single texts
    assert reloaded.evaluate(pair_data["dev"])["accuracy"] >= 0.9
    good, bad = "部屋は最高でした。", "朝食は最悪でした。"
    pairs = [(good, bad), (bad, good), (good, good), (bad, bad)]
    assert reloaded.predict(pairs) == ["pos-neg", "neg-pos", "pos-pos", "neg-neg"]
    np.testing.assert_allclose(reloaded.predict_proba(pairs), clf.predict_proba(pairs),
                               atol=1e-5)
    with pytest.raises(kanjo.KanjoError, match="pair"):
        reloaded.predict([good])


def similarity_rows(n: int, seed: int) -> list[dict[str, object]]:
    """Pairs of review sentences scored 0–3: 2 when both say the same sentiment, plus 1 when
    both are about the same subject. The score needs both texts."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        first, second = rng.random() < 0.5, rng.random() < 0.5
        a = rng.choice(SUBJECTS[:4])
        b = a if rng.random() < 0.5 else rng.choice(SUBJECTS[:4])
        rows.append({
            "sentence1": f"{a}{rng.choice(POSITIVE if first else NEGATIVE)}。",
            "sentence2": f"{b}{rng.choice(POSITIVE if second else NEGATIVE)}。",
            "score": 2.0 * (first == second) + (a == b)})
    return rows


@pytest.fixture(scope="module")
def similarity_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return train_dev_files(tmp_path_factory, "similarity", similarity_rows, 200, 80, seed=4)


def test_a_pair_regression_trains_a_bi_encoder(trained: Path, similarity_data: dict[str, Path],
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`--task regression` on pairs: the encoder tuned by CoSENT, a · cosine + b in the
    target's units; saved, reloaded, scored (by kanjo and by transformers' pipeline), refused
    where it does not fit."""
    from transformers import pipeline

    import kanjo
    from kanjo.models.sentence_encoder import PAIR_FEATURES
    from kanjo.training.similarity_tuning import MIN_STEPS

    clf = kanjo.train(similarity_data["train"], tmp_path / "model", model=str(trained),
                      task="regression", label_column="score", dev=str(similarity_data["dev"]))
    meta = clf.meta
    assert meta["recipe"]["name"] == "embeddings" and "bi-encoder" in meta["recipe"]["reason"]
    tuning = meta["embeddings"]["encoder_tuning"]
    assert tuning["method"].startswith("CoSENT") and tuning["steps"] >= MIN_STEPS
    assert meta["embeddings"]["head"].startswith("a · cosine + b")
    reloaded = kanjo.load(tmp_path / "model")
    head = reloaded.backend.head
    assert head.features == PAIR_FEATURES and head.weight.shape == (1, 4 * 64)
    # an affine map of the cosine: weights only on the u ⊙ v block, all equal
    assert not head.weight[0, :3 * 64].any()
    assert np.allclose(head.weight[0, 3 * 64:], meta["embeddings"]["slope"])
    assert meta["embeddings"]["slope"] > 0
    assert meta["dev_metrics"]["pearson"] >= 0.8 and meta["target_range"] == [0.0, 3.0]
    assert "dev_metrics_note" not in meta  # nothing was chosen on the dev rows
    good, bad = "部屋は最高でした。", "部屋は最悪でした。"
    pairs = [(good, "部屋が快適でした。"), (good, "朝食は最悪でした。"), (bad, "部屋はひどい。")]
    values = reloaded.predict_values(pairs)
    np.testing.assert_allclose(values, clf.predict_values(pairs), atol=1e-4)
    assert values[0] > values[1] and values[2] > values[1]  # same sentiment scores higher
    raw = pipeline("text-classification", model=str(tmp_path / "model"), top_k=None,
                   trust_remote_code=True)({"text": pairs[1][0], "text_pair": pairs[1][1]})
    assert raw[0]["label"] == "score" and raw[0]["score"] == pytest.approx(values[1], abs=1e-4)
    assert reloaded.evaluate(similarity_data["dev"], label_column="score")["pearson"] >= 0.8
    with pytest.raises(kanjo.KanjoError, match="class probabilities"):
        reloaded.predict_proba(pairs)
    code, _, err = run_cli(["export", str(tmp_path / "model"), "--out", str(tmp_path / "onnx")],
                          capsys)
    assert code == 2 and "embedding model" in err and "--recipe finetune" in err
    assert not (tmp_path / "onnx").exists()


def test_a_pair_regression_without_tuning_keeps_the_encoder(
        trained: Path, similarity_data: dict[str, Path], tmp_path: Path) -> None:
    """`--no-tune-encoder`: the ridge head on the frozen encoder's pair features."""
    import kanjo
    from kanjo.models.sentence_encoder import SentenceEncoder

    clf = kanjo.train(similarity_data["train"], tmp_path / "model", model=str(trained),
                      task="regression", label_column="score", tune_encoder=False)
    assert clf.meta["embeddings"]["encoder_tuning"] == {"method": None,
                                                        "reason": "tune_encoder is off"}
    assert clf.meta["embeddings"]["head"].startswith("ridge regression")
    saved = kanjo.load(tmp_path / "model").backend.encoder.model.state_dict()
    base = SentenceEncoder.load(trained).model.state_dict()
    assert saved.keys() == base.keys()
    assert all(saved[k].equal(base[k]) for k in base)
    values = clf.predict_values([("部屋は最高でした。", "部屋が快適でした。"),
                                 ("部屋は最高でした。", "朝食は最悪でした。")])
    assert values[0] > values[1]


def test_cosent_tuning_orders_the_training_pairs(tiny_bert: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`tune_similarity` on the random tiny BERT: the cosines of the training pairs follow
    their scores much more closely after tuning than before (Spearman). The random model
    needs the tiny models' larger learning rate (TINY's lr is 3e-3)."""
    import torch
    from scipy.stats import spearmanr

    from kanjo.models.sentence_encoder import SentenceEncoder
    from kanjo.training import similarity_tuning

    rows = similarity_rows(120, seed=6)
    pairs = [(r["sentence1"], r["sentence2"]) for r in rows]
    y = np.array([r["score"] for r in rows])
    encoder = SentenceEncoder.load(tiny_bert, device="cpu")

    def rank_agreement() -> float:
        u, _ = encoder.embed([a for a, _ in pairs])
        v, _ = encoder.embed([b for _, b in pairs])
        return float(spearmanr((u * v).sum(axis=1), y)[0])

    monkeypatch.setattr(similarity_tuning, "LR", 1e-3)
    before = rank_agreement()
    embeddings = encoder.model.get_input_embeddings().weight.detach().clone()
    similarity_tuning.tune_similarity(encoder, pairs, y, epochs=30, seed=0)
    assert rank_agreement() > before + 0.3
    assert torch.equal(encoder.model.get_input_embeddings().weight, embeddings)


def test_jrte_entailment_file_is_read_natively_with_votes() -> None:
    from kanjo.data import read_table

    table = read_table(JRTE_RTE)
    assert table.format == "jrte" and len(table) == 6950
    assert table.label_names == ("non_entailment", "entailment")
    assert table.texts[0] == "温泉は、肌がスベスベになります。"  # the premise first
    assert table.text_pairs[0] == "肌がスベスベになりました。"
    assert set(table.splits) == {"train", "dev"} and table.soft[0] == {"entailment": 1.0}


def test_bad_pair_and_regression_input_exit_2_naming_the_line(
        tmp_path: Path, tiny_bert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", agreement_rows(20, seed=8))
    code, _, err = run_cli(["train", str(data), "--out", str(tmp_path / "m"), "--model", "tfidf",
                            "--text-pair-column", "hypothesis"], capsys)
    assert code == 2 and "hypothesis" in err and "Traceback" not in err
    rows = intensity_rows(20, seed=8)
    rows[6]["score"] = "high"
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    code, _, err = run_cli(["train", str(bad), "--out", str(tmp_path / "m"), "--model", "tfidf",
                            "--task", "regression", "--label-column", "score"], capsys)
    assert code == 2 and "line 7" in err and "not a number" in err
    assert not (tmp_path / "m").exists()
    rows[6]["score"] = None  # a missing score: the hint speaks of numbers, not label sets
    code, _, err = run_cli(["train", str(write_jsonl(tmp_path / "nan.jsonl", rows)), "--out",
                            str(tmp_path / "m"), "--model", "tfidf", "--task", "regression",
                            "--label-column", "score"], capsys)
    assert code == 2 and "line 7" in err and "missing or NaN" in err
    assert "number" in err and "multi-label" not in err
    rows = agreement_rows(20, seed=8)
    rows[3]["sentence2"] = ""
    code, _, err = run_cli(["train", str(write_jsonl(tmp_path / "gap.jsonl", rows)), "--out",
                            str(tmp_path / "m"), "--model", "tfidf"], capsys)
    assert code == 2 and "line 4" in err and "sentence2" in err
    half = write_jsonl(tmp_path / "half.jsonl", [{"sentence1": r["sentence1"],
                                                   "label": r["label"]} for r in rows])
    code, _, err = run_cli(["train", str(half), "--out", str(tmp_path / "m"), "--model",
                            "tfidf"], capsys)
    assert code == 2 and "'sentence1' but not its partner 'sentence2'" in err and str(half) in err


def test_predict_input_that_does_not_fit_the_model_names_the_file(
        pair_model: Path, trained: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    singles = tmp_path / "singles.csv"
    singles.write_text("text\n部屋は最高でした。\n", encoding="utf-8")
    code, out, err = run_cli(["predict", str(pair_model), "--input", str(singles)], capsys)
    assert code == 2 and str(singles) in err and "one text column" in err and not out
    pairs = write_jsonl(tmp_path / "pairs.jsonl", agreement_rows(3, seed=9))
    code, out, err = run_cli(["predict", str(trained), "--input", str(pairs)], capsys)
    assert code == 2 and str(pairs) in err and "reads single texts" in err and not out
    code, out, err = run_cli(["predict", str(trained), "--input", "-", "--format", "csv"], capsys)
    assert code == 2 and "standard input" in err and "--input FILE" in err


def test_numeric_labels_suggest_a_regression(tmp_path: Path) -> None:
    from kanjo.data import read_table
    from kanjo.data.targets import targets_for
    from kanjo.errors import DataWarning

    rows = [{"text": f"文{i}", "label": round(i * 0.2, 1)} for i in range(30)]
    table = read_table(write_jsonl(tmp_path / "s.jsonl", rows))
    with pytest.warns(DataWarning, match="--task regression"):
        targets_for("classification", table)
    assert targets_for("regression", table).names == ("label",)
