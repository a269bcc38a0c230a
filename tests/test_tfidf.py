"""TF-IDF baseline: learning a toy set, pickle-free save/load, soft targets, shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from kanjo.models.tfidf import CONFIG_NAME, WEIGHTS_NAME, TfidfClassifier

SUBJECTS = [
    "この店の料理は",
    "ホテルの部屋は",
    "スタッフの対応は",
    "今日の天気は",
    "駅からのアクセスは",
    "新しい映画は",
    "このパソコンは",
    "先生の説明は",
    "昨日のライブは",
    "近所のカフェは",
]
PREDICATES = {
    0: ["とても悪いです。", "最悪でした。", "汚くて嫌だった。"],  # negative
    1: ["とても良いです。", "最高でした。", "美味しくて嬉しかった。"],  # positive
    2: ["普通です。", "特に何もなかった。", "まあまあかな。"],  # neutral
}


def toy(subjects: list[str], k: int) -> tuple[list[str], list[int]]:
    """Every subject × predicate sentence for labels ``0..k-1``."""
    pairs = [(s + p, y) for y in range(k) for p in PREDICATES[y] for s in subjects]
    return [t for t, _ in pairs], [y for _, y in pairs]


TRAIN_SUBJECTS, HELD_OUT_SUBJECTS = SUBJECTS[:7], SUBJECTS[7:]


@pytest.fixture(scope="module", params=[2, 3], ids=["binary", "three-class"])
def fitted(request: pytest.FixtureRequest) -> tuple[TfidfClassifier, int]:
    texts, labels = toy(TRAIN_SUBJECTS, request.param)
    return TfidfClassifier().fit(texts, labels), request.param


def test_learns_toy_set_on_held_out_templates(fitted: tuple[TfidfClassifier, int]) -> None:
    model, k = fitted
    texts, labels = toy(HELD_OUT_SUBJECTS, k)
    pred = model.predict(texts)
    assert pred.dtype == np.int64
    assert (pred == np.array(labels)).mean() == 1.0


def test_probabilities_shapes_and_empty_input(fitted: tuple[TfidfClassifier, int]) -> None:
    model, k = fitted
    texts, _ = toy(HELD_OUT_SUBJECTS, k)
    proba = model.predict_proba([*texts, "", "語彙にない文字列ゑゐ"])
    assert proba.shape == (len(texts) + 2, k)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert model.predict_proba([]).shape == (0, k)
    assert model.predict([]).shape == (0,)


def test_save_load_round_trip_without_pickle(
    fitted: tuple[TfidfClassifier, int], tmp_path: Path
) -> None:
    model, k = fitted
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])
    for path in tmp_path.iterdir():
        assert not path.read_bytes().startswith(b"\x80")  # pickle protocol 2+ magic
    loaded = TfidfClassifier.load(tmp_path)
    texts = [*toy(SUBJECTS, k)[0], "", "全く新しい文章ＡＢＣ"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    assert loaded.get_params() == model.get_params()
    assert loaded.vocabulary_ == model.vocabulary_


def test_nfkc_folds_full_and_half_width(fitted: tuple[TfidfClassifier, int]) -> None:
    model, _ = fitted
    a = model.predict_proba(["ﾎﾃﾙの部屋はＧＯＯＤで最高でした！"])
    b = model.predict_proba(["ホテルの部屋はgoodで最高でした!"])
    np.testing.assert_array_equal(a, b)


def test_soft_targets_pull_probability_toward_their_mass() -> None:
    texts, labels = toy(TRAIN_SUBJECTS, 2)
    probe = "ほげほげの謎"
    texts, labels = [*texts, probe], [*labels, 0]
    hard = TfidfClassifier().fit(texts, labels)
    soft = np.eye(2)[labels]
    soft[-1] = [0.1, 0.9]
    softened = TfidfClassifier().fit(texts, soft_targets=soft)
    assert softened.predict_proba([probe])[0, 1] > hard.predict_proba([probe])[0, 1] + 0.1
    # one-hot soft targets are the same fit as hard labels
    one_hot = TfidfClassifier().fit(texts, soft_targets=np.eye(2)[labels])
    np.testing.assert_allclose(one_hot.coef_, hard.coef_, atol=1e-8)


def test_rejects_bad_input() -> None:
    with pytest.raises(NotFittedError):
        TfidfClassifier().predict(["a"])
    with pytest.raises(ValueError, match="no training examples"):
        TfidfClassifier().fit(["a", "b"], soft_targets=np.array([[1.0, 0, 0], [0, 0, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        TfidfClassifier().fit(["a", "b"], soft_targets=np.ones((3, 2)))


# scikit-learn's estimator checks that apply to an estimator over texts (the others feed numeric
# 2-D arrays, which the tags declare unsupported, so check_estimator itself skips them)
TEXT_ESTIMATOR_CHECKS = [
    "check_no_attributes_set_in_init", "check_parameters_default_constructible",
    "check_get_params_invariance", "check_set_params", "check_estimator_repr",
    "check_estimator_cloneable", "check_do_not_raise_errors_in_init_or_set_params",
    "check_valid_tag_types", "check_estimator_tags_renamed", "check_estimators_unfitted",
    "check_classifiers_one_label",
]


@pytest.mark.parametrize("check", TEXT_ESTIMATOR_CHECKS)
def test_is_a_scikit_learn_estimator(check: str) -> None:
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)("TfidfClassifier", TfidfClassifier())


def test_clone_and_string_labels() -> None:
    """sklearn conventions: clone() gives an unfitted copy with the same parameters; labels may
    be any classes (classes_ holds them sorted) and predict returns them."""
    from sklearn.base import clone

    texts, labels = toy(TRAIN_SUBJECTS, 3)
    names = np.array(["negative", "positive", "neutral"])[labels]
    model = TfidfClassifier(C=2.0).fit(texts, names)
    assert model.classes_.tolist() == ["negative", "neutral", "positive"]
    held_texts, held_labels = toy(HELD_OUT_SUBJECTS, 3)
    assert (model.predict(held_texts) == np.array(["negative", "positive", "neutral"])[
        held_labels]).mean() > 0.8
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")
