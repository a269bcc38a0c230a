"""Word attributions on tiny models whose decision hinges on one known word (温泉)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kanjo
from kanjo.errors import KanjoError
from kanjo.explain import explain
from kanjo.explain.words import word_spans
from tests.browser import ARTIFACTS, chromium_page
from tests.conftest import KEY
from tests.conftest import run_cli as run

# texts built from the tiny vocabulary; the label is "onsen" exactly when 温泉 appears
WITH_KEY = ["部屋と温泉は最悪でした。", "温泉と朝食は二階にあります。",
            "ロビーと温泉が快適でした。"]
WITHOUT = ["部屋と朝食は最悪でした。", "ロビーとベッドが快適でした。"]


@pytest.mark.parametrize("kind,method", [("torch", "integrated-gradients"),
                                         ("torch", "occlusion"), ("onnx", "occlusion"),
                                         ("tfidf", "tfidf"), ("tfidf", "occlusion"),
                                         ("embedding", "occlusion")])
def test_the_deciding_word_ranks_first(key_models, kind, method) -> None:
    classifier = kanjo.load(key_models[kind])
    results = classifier.explain(WITH_KEY, method=method)
    for e in results:
        assert e.label == e.target == "onsen" and e.method == method
        assert e.ranked()[0].word == KEY, [(w.word, w.score) for w in e.ranked()]
        assert e.ranked()[0].score > 0
    # explaining the other label of a text with the key word: 温泉 is the strongest evidence
    # against it
    against = classifier.explain(WITH_KEY[:1], target="other", method=method)[0]
    assert min(against.words, key=lambda w: w.score).word == KEY


def test_auto_picks_the_backends_method(key_models) -> None:
    methods = {kind: explain(kanjo.load(path), WITHOUT[:1])[0].method
               for kind, path in key_models.items()}
    assert methods == {"torch": "integrated-gradients", "onnx": "occlusion", "tfidf": "tfidf",
                       "embedding": "occlusion"}


def test_integrated_gradients_delta_is_the_completeness_gap(key_models) -> None:
    """Token scores + delta = the attributed output (the centred, temperature-scaled target
    logit) at the text minus at the all-pad baseline, computed here with the model directly."""
    import torch

    classifier = kanjo.load(key_models["torch"])
    backend = classifier.backend
    e = classifier.explain(WITH_KEY[:1], steps=64, internal_batch_size=16)[0]
    ids = backend.tokenizer(e.text, return_tensors="pt")["input_ids"]
    baseline = ids.clone()
    baseline[0, 1:-1] = backend.tokenizer.pad_token_id
    with torch.no_grad():
        logits = backend.model(input_ids=torch.cat([ids, baseline])).logits
    centred = (logits - logits.mean(dim=1, keepdim=True)) / classifier.temperature
    gap = float(centred[0, 0] - centred[1, 0])  # label 0 is "onsen"
    total = sum(p["score"] for p in e.pieces)
    assert e.delta is not None and total + e.delta == pytest.approx(gap, rel=1e-3, abs=1e-3)
    assert abs(e.delta) < 0.05 * abs(total)
    assert sum(w.score for w in e.words) == pytest.approx(total, rel=1e-6)


def test_tfidf_contributions_are_exact(key_models) -> None:
    from kanjo.explain.linear import centred_intercept

    classifier = kanjo.load(key_models["tfidf"])
    model = classifier.backend.model
    for e in classifier.explain(WITH_KEY + WITHOUT):
        target = classifier.labels.names.index(e.target)
        score = model.decision_function([e.text])[0, 0]  # binary: log-odds of label 1
        centred = score / 2 if target == 1 else -score / 2
        total = sum(p["score"] for p in e.pieces)
        assert total + centred_intercept(model, target) == pytest.approx(centred, abs=1e-9)
        assert sum(w.score for w in e.words) == pytest.approx(total, abs=1e-9)


# Japanese, emoji (outside the BMP, one code point), half-width katakana with voicing marks
# (NFKC composes ｶﾞ into one character), full-width Latin, spaces, an ideographic space and a tab
ODD = ["温泉😀は最高でした！", "ﾎﾃﾙのｶﾞｲﾄﾞと温泉  ＯＫ\tです", "  温泉🎉🎉と部屋\u3000です "]


@pytest.mark.parametrize("kind", ["torch", "onnx", "tfidf"])
def test_offsets_point_into_the_original_text(key_models, kind) -> None:
    for e in kanjo.load(key_models[kind]).explain(ODD):
        assert [(w.start, w.end) for w in e.words] == word_spans(e.text)
        for w in e.words:
            assert e.text[w.start:w.end] == w.word and w.word.strip() == w.word
        covered = "".join(w.word for w in e.words)
        assert covered == "".join(e.text.split()), "every non-space character is in a word"
        for p in e.pieces:
            assert 0 <= p["start"] < p["end"] <= len(e.text)
        if kind == "tfidf":  # each n-gram occurrence is what the model read there
            from kanjo.models.tfidf import normalize_text

            for p in e.pieces:
                assert normalize_text(e.text[p["start"]:p["end"]]).split() == p["piece"].split()


def test_long_text_is_truncated_with_a_notice(key_models, capsys) -> None:
    long = "温泉は最高でした。" + "部屋と朝食は二階にあります。" * 30  # > 128 tokens
    for kind, method in [("torch", "integrated-gradients"), ("onnx", "occlusion")]:
        e = kanjo.load(key_models[kind]).explain([long], method=method)[0]
        assert e.truncated and e.label == "onsen" and e.ranked()[0].word == KEY
        assert e.words[-1].end < len(long) and e.words[0].start == 0
    code, _, err = run(["explain", str(key_models["torch"]), long], capsys)
    assert code == 0 and "truncated" in err


def test_bad_requests_are_clear_errors(key_models) -> None:
    torch_model, tfidf = kanjo.load(key_models["torch"]), kanjo.load(key_models["tfidf"])
    with pytest.raises(KanjoError, match="onsen, other"):
        torch_model.explain(WITH_KEY, target="positive")
    with pytest.raises(KanjoError, match="torch model"):
        tfidf.explain(WITH_KEY, method="integrated-gradients")
    with pytest.raises(KanjoError, match="unknown explanation method"):
        tfidf.explain(WITH_KEY, method="lime")
    with pytest.raises(KanjoError, match="empty"):
        tfidf.explain(["温泉", "  "])


def test_explain_command_json_terminal_and_html(key_models, tmp_path: Path, capsys) -> None:
    model = str(key_models["onnx"])
    code, out, _ = run(["explain", model, *WITH_KEY[:2], "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert [r["text"] for r in rows] == WITH_KEY[:2]
    assert set(rows[0]) == {"text", "label", "target", "probability", "method", "words",
                            "pieces", "truncated", "delta"}
    assert set(rows[0]["words"][0]) == {"word", "start", "end", "score"}
    assert max(rows[0]["words"], key=lambda w: w["score"])["word"] == KEY
    code, out, _ = run(["explain", model, WITH_KEY[0]], capsys)
    assert code == 0 and WITH_KEY[0] in out and f"{KEY} +" in out
    page = tmp_path / "explain.html"
    code, _, _ = run(["explain", str(key_models["torch"]), *WITH_KEY, *ODD, "--html",
                      str(page)], capsys)
    assert code == 0
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    with chromium_page() as browser:
        browser.goto(page.as_uri())
        sections = browser.locator("section.explanation")
        assert sections.count() == len(WITH_KEY) + len(ODD)
        assert WITH_KEY[0] in sections.nth(0).inner_text()  # the Japanese text, as given
        strongest = browser.locator("section.explanation").nth(0).locator("span.w[title]",
                                                                            has_text=KEY)
        assert strongest.count() == 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert sections.nth(0).locator("p.text").is_visible()
        browser.screenshot(path=str(ARTIFACTS / "explain.png"), full_page=True)
