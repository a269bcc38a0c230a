"""Training paths beyond the basics: TF-IDF, soft labels, MeCab tokenizers, atomic output,
and one real run of the offline default encoder on JRTE pn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kanjo
from kanjo.storage import atomic_directory
from tests.conftest import JRTE_PN, TINY, toy_rows, write_csv


def test_tfidf_model_has_the_same_interface(tmp_path: Path, toy_csv: Path) -> None:
    clf = kanjo.train(toy_csv, tmp_path / "tfidf", model="tfidf")
    assert clf.meta["dev_metrics"]["macro_f1"] == 1.0
    files = {p.name for p in (tmp_path / "tfidf").iterdir()}
    assert files == {"kanjo.json", "tfidf.json", "tfidf.safetensors"}
    loaded = kanjo.load(tmp_path / "tfidf")
    assert loaded.predict(["露天風呂は最悪でした。", "朝食は最高でした。"]) == ["negative",
                                                                               "positive"]
    metrics = loaded.evaluate(toy_csv, split="dev")
    assert metrics["n"] == 60 and metrics["accuracy"] == 1.0


def test_bert_japanese_tokenizer_path(tmp_path: Path, tiny_japanese_bert: Path,
                                      toy_csv: Path) -> None:
    clf = kanjo.train(toy_csv, tmp_path / "ja", model=str(tiny_japanese_bert), **TINY)
    # a 2-layer random-init model: it learns (majority class would score 0.17), not perfectly
    assert clf.meta["dev_metrics"]["macro_f1"] > 0.5
    loaded = kanjo.load(tmp_path / "ja")
    assert type(loaded.backend.tokenizer).__name__ == "BertJapaneseTokenizer"
    texts = ["温泉は最高でした。", "料理は最悪でした。"]
    np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)


def test_soft_labels_follow_the_distribution(tmp_path: Path, tiny_bert: Path) -> None:
    """Rows whose votes split 50/50 between neutral and positive: a soft-label model learns
    to put about half its probability on each; a hard-label model is pushed to one side."""
    rows = toy_rows(30, seed=5, neutral=False)
    lines = ["text,label,judges"]
    for text, label in rows:
        judges = {"positive": 1, "neutral": 1} if label == "positive" else {"negative": 2}
        hard = "positive" if label == "positive" else "negative"
        lines.append(f'{text},{hard},"{json.dumps(judges).replace(chr(34), chr(34) * 2)}"')
    (tmp_path / "soft.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = "negative,neutral,positive"
    soft = kanjo.train(tmp_path / "soft.csv", tmp_path / "s", model=str(tiny_bert),
                       soft_labels=True, labels=labels, dev_split=0, **TINY)
    hard = kanjo.train(tmp_path / "soft.csv", tmp_path / "h", model=str(tiny_bert),
                       soft_labels=False, labels=labels, dev_split=0, **TINY)
    text = ["朝食は最高でした。"]
    p_soft, p_hard = soft.predict_proba(text)[0], hard.predict_proba(text)[0]
    assert abs(p_soft[1] - 0.5) < 0.15 and abs(p_soft[2] - 0.5) < 0.15
    assert p_hard[2] > 0.9


def test_soft_labels_need_a_distribution_column(tmp_path: Path, toy_csv: Path) -> None:
    with pytest.raises(kanjo.errors.DataError, match="no soft-label column"):
        kanjo.train(toy_csv, tmp_path / "x", model="tfidf", soft_labels=True)
    auto = kanjo.train(toy_csv, tmp_path / "auto", model="tfidf", soft_labels="auto")
    assert auto.meta["data"]["train"]["soft_labels"] is False


def test_soft_labels_auto_uses_a_distribution_column(tmp_path: Path) -> None:
    """'auto' trains on the votes when the file has them: a text whose votes split evenly
    gets a middling probability, where hard labels make it one-sided."""
    rows = toy_rows(30, seed=6, neutral=False)
    lines = ["text,label,judges"]
    for text, label in rows:
        even, sure = '"{""positive"": 1, ""negative"": 1}"', '"{""negative"": 2}"'
        judges = even if label == "positive" else sure
        lines.append(f"{text},{label},{judges}")
    data = tmp_path / "votes.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    auto = kanjo.train(data, tmp_path / "auto", model="tfidf", soft_labels="auto", dev_split=0)
    hard = kanjo.train(data, tmp_path / "hard", model="tfidf", soft_labels=False, dev_split=0)
    assert auto.meta["data"]["train"]["soft_labels"] is True
    assert hard.meta["data"]["train"]["soft_labels"] is False
    text = [next(t for t, label in rows if label == "positive")]
    p_auto, p_hard = auto.predict_proba(text)[0], hard.predict_proba(text)[0]
    positive = list(auto.labels.names).index("positive")
    assert 0.3 < p_auto[positive] < 0.7 and p_hard[positive] - p_auto[positive] > 0.1


def test_interrupted_save_leaves_nothing(tmp_path: Path, toy_csv: Path) -> None:
    target = tmp_path / "model"
    with pytest.raises(RuntimeError), atomic_directory(target) as staged:
        (staged / "config.json").write_text("{}")
        raise RuntimeError("disk full")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    clf = kanjo.train(toy_csv, target, model="tfidf")
    before = (target / "kanjo.json").read_text()
    with pytest.raises(RuntimeError), atomic_directory(target, overwrite=True) as staged:
        raise RuntimeError("killed")
    assert (target / "kanjo.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert clf.path == target


def test_dev_file_and_train_splits(tmp_path: Path, tiny_bert: Path) -> None:
    train = write_csv(tmp_path / "train.csv", toy_rows(20, seed=7))
    dev = write_csv(tmp_path / "dev.csv", toy_rows(5, seed=8))
    clf = kanjo.train(train, tmp_path / "m", model="tfidf", dev=str(dev))
    assert clf.meta["data"]["dev"]["rows"] == 15
    clf = kanjo.train(train, tmp_path / "all", model="tfidf", dev_split=0)
    assert "dev" not in clf.meta["data"] and clf.meta["data"]["train"]["rows"] == 60


@pytest.mark.slow
@pytest.mark.skipif(not JRTE_PN.exists(), reason="needs ../shared/data/jrte-pn")
def test_default_encoder_learns_jrte_pn(tmp_path: Path) -> None:
    """The real offline default encoder, trained briefly on a slice of JRTE pn: well above the
    majority class (macro-F1 0.25)."""
    rows = JRTE_PN.read_text(encoding="utf-8").splitlines()
    train = [r for r in rows if r.endswith("\ttrain")][:800]
    dev = [r for r in rows if r.endswith("\tdev")][:300]
    data = tmp_path / "slice.tsv"
    data.write_text("\n".join(train + dev) + "\n", encoding="utf-8")
    clf = kanjo.train(data, tmp_path / "model", epochs=4, min_steps=0)
    metrics = clf.meta["dev_metrics"]
    assert metrics["n"] == 300
    assert metrics["macro_f1"] > 0.55, metrics
    predictions = clf.predict_proba(["部屋がとても綺麗で快適でした。"])
    assert np.isclose(predictions.sum(), 1.0)
