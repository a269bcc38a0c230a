"""`make demo` end to end with the real default encoder: the shipped sample (264 training rows,
so `recipe: auto` trains the embeddings recipe) labels the example sentences correctly."""

from __future__ import annotations

from pathlib import Path

import pytest

import kanjo
from tests.conftest import ROOT

EXPECTED = ["positive", "negative", "neutral", "positive", "negative", "neutral", "positive",
            "negative"]
"""The labels of examples/new_reviews.txt, line by line, as a reader gives them."""


@pytest.mark.slow
def test_demo_predicts_its_examples(tmp_path: Path) -> None:
    clf = kanjo.train(ROOT / "examples" / "reviews.csv", tmp_path / "demo")
    assert clf.meta["recipe"]["name"] == "embeddings"
    texts = (ROOT / "examples" / "new_reviews.txt").read_text(encoding="utf-8").splitlines()
    assert len(texts) == len(EXPECTED)
    assert kanjo.load(tmp_path / "demo").predict(texts) == EXPECTED
    assert clf.meta["dev_metrics"]["macro_f1"] > 0.7
