"""`kanjo report`: one self-contained HTML file, checked in real headless Chromium."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from kanjo.evaluation.bootstrap import bootstrap_intervals
from tests.browser import ARTIFACTS, chromium_page
from tests.conftest import key_rows, run_cli, write_csv

SECTIONS = ["metrics", "per-class", "confusion", "reliability", "pr-curves", "training",
            "errors", "label-issues", "model-card"]


@pytest.fixture(scope="module")
def noisy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 fresh key-word rows, 6 of them with the wrong label: the model's confident errors."""
    rows = key_rows(60, seed=11)
    for i in range(0, 60, 10):
        text, label = rows[i]
        rows[i] = (text, "other" if label == "onsen" else "onsen")
    return write_csv(tmp_path_factory.mktemp("noisy") / "noisy.csv", rows)


def test_report_has_every_section_in_chromium(key_models, noisy_csv, tmp_path, capsys) -> None:
    issues = tmp_path / "issues.csv"
    code, _, err = run_cli(["label-issues", str(noisy_csv), "--model", "tfidf", "--out",
                            str(issues)], capsys)
    assert code == 0, err
    page = tmp_path / "report.html"
    code, _, err = run_cli(["report", str(key_models["torch"]), str(noisy_csv), "--out",
                            str(page), "--issues", str(issues)], capsys)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?https?:""", html), "nothing fetched from outside"
    assert "<script" not in html
    code, out, _ = run_cli(["evaluate", str(key_models["torch"]), str(noisy_csv), "--json"],
                           capsys)
    metrics = json.loads(out)
    with open(issues, encoding="utf-8", newline="") as handle:
        flagged = list(csv.DictReader(handle))
    with chromium_page() as browser:
        browser.goto(page.as_uri())
        for section in SECTIONS:
            assert browser.locator(f"section#{section}").is_visible(), section
        # the heat map shows the same counts as `kanjo evaluate`
        cells = browser.locator("table.confusion td")
        counts = [int(cells.nth(i).inner_text().split()[0]) for i in range(cells.count())]
        assert counts == [c for row in metrics["confusion_matrix"] for c in row]
        accuracy = browser.locator("section#metrics tr", has_text="accuracy").inner_text()
        assert f"{metrics['accuracy']:.4f}" in accuracy
        # figures: reliability (with ECE), PR curves, training curves from TensorBoard logs
        for section, words in [("reliability", "ECE"), ("pr-curves", "onsen (AP"),
                               ("training", "dev metrics")]:
            figure = browser.locator(f"section#{section} svg")
            assert figure.count() == 1 and words in figure.inner_html(), section
            assert figure.bounding_box()["width"] > 200
        errors = browser.locator("section#errors table.errors tr")
        assert errors.count() - 1 == metrics["n"] - round(metrics["accuracy"] * metrics["n"])
        first_error = errors.nth(1).inner_text()
        assert re.search("[\u3040-\u30ff\u4e00-\u9fff]", first_error), "Japanese visible"
        assert errors.nth(1).locator("span.w[title]").count() > 0, "word highlights"
        issue_rows = browser.locator("section#label-issues tr")
        assert issue_rows.count() - 1 == len(flagged) > 0
        assert flagged[0]["text"] in issue_rows.nth(1).inner_text()
        card = browser.locator("section#model-card").inner_text()
        assert "onsen, other" in card and "maximum length" in card and "sha256" in card
        assert "Limitations" in card
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)


@pytest.mark.parametrize("kind", ["onnx", "tfidf", "embedding"])
def test_report_on_exports_and_tfidf(key_models, noisy_csv, tmp_path, capsys, kind) -> None:
    page = tmp_path / "report.html"
    code, _, err = run_cli(["report", str(key_models[kind]), str(noisy_csv), "--out",
                            str(page), "--errors", "3"], capsys)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    # an export shows the training curves of the model it came from; tfidf has none
    assert ("No TensorBoard logs" in html) == (kind in ("tfidf", "embedding"))
    assert "Not checked: run" in html
    assert html.count('<tr><td class="num">') >= 3  # the three confident errors
    code, _, err = run_cli(["report", str(key_models[kind]), str(noisy_csv), "--out",
                            str(page), "--split", "test"], capsys)
    assert code == 2 and "split" in err
    code, _, err = run_cli(["report", str(key_models[kind]), str(noisy_csv), "--out",
                            str(page), "--issues", str(noisy_csv)], capsys)
    assert code == 2 and "not a kanjo label-issues file" in err


def test_bootstrap_intervals_match_sklearn_and_cover_the_value() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    p = np.where(rng.random(400) < 0.7, y, rng.integers(0, 3, 400))
    out = bootstrap_intervals(y, p, 3)
    assert out["accuracy"]["value"] == pytest.approx(accuracy_score(y, p))
    assert out["macro_f1"]["value"] == pytest.approx(f1_score(y, p, average="macro"))
    assert out["weighted_f1"]["value"] == pytest.approx(f1_score(y, p, average="weighted"))
    for m in out.values():
        assert m["low"] < m["value"] < m["high"] and m["high"] - m["low"] < 0.15
    small = bootstrap_intervals(y[:40], p[:40], 3)["accuracy"]
    assert small["high"] - small["low"] > out["accuracy"]["high"] - out["accuracy"]["low"]
    perfect = bootstrap_intervals(y, y, 3)["macro_f1"]
    assert perfect == {"value": 1.0, "low": 1.0, "high": 1.0}
