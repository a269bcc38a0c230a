"""An embeddings-recipe model directory is a transformers model
(:class:`kanjo.models.pooled_classifier.KanjoPooledClassifier`): ``transformers.pipeline`` with
``trust_remote_code`` gives kanjo's own scores, without it transformers refuses (never a random
head), and directories of the layout before it still load."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import kanjo
from kanjo.data.labels import LabelSet
from kanjo.inference.embedding_backend import EmbeddingBackend
from kanjo.models import pooled_classifier
from kanjo.models.linear_head import LinearHead
from kanjo.models.sentence_encoder import PAIR_FEATURES, SentenceEncoder
from tests.conftest import run_cli

TEXTS = ["温泉は最高でした。", "料理は最悪でした。", "ロビーは一階です。", "部屋 と 温泉"]


@pytest.fixture(scope="module")
def frozen_model(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path,
                 toy_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("pooled") / "m"
    kanjo.train(toy_csv, out, model=str(tiny_bert), recipe="embeddings", tune_encoder=False)
    return out


def test_pipeline_needs_trust_remote_code_and_then_gives_kanjos_scores(
        frozen_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import pipeline

    asked: list[object] = []  # transformers' "Do you wish to run the custom code? [y/N]"
    monkeypatch.setattr("builtins.input", lambda *prompt: asked.append(prompt) or "n")
    clf = kanjo.load(frozen_model)  # kanjo runs its own class: it never asks
    assert not asked

    config = json.loads((frozen_model / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "kanjo-pooled"
    assert config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    assert config["problem_type"] == "single_label_classification"
    monkeypatch.undo()
    with pytest.raises(ValueError, match="trust_remote_code"):
        pipeline("text-classification", model=str(frozen_model))
    scored = pipeline("text-classification", model=str(frozen_model), top_k=None,
                      trust_remote_code=True)(TEXTS)
    for rows, proba in zip(scored, clf.predict_proba(TEXTS), strict=True):
        assert {r["label"]: r["score"] for r in rows} == pytest.approx(
            dict(zip(clf.labels.names, proba.tolist(), strict=True)), abs=1e-5)


def test_the_prefix_tokens_go_in_after_the_first_token(tiny_bert: Path,
                                                       tmp_path: Path) -> None:
    """A prefix kanjo prepends to the text (e5's "query: ") is inserted as tokens by the
    transformers model: the same logits from the tokenizer's plain encoding of the text."""
    import torch
    from transformers import AutoTokenizer

    encoder = SentenceEncoder.load(tiny_bert, prefix="部屋 : ")
    rng = np.random.default_rng(0)
    head = LinearHead(rng.normal(size=(3, encoder.dim)).astype(np.float32),
                      rng.normal(size=3).astype(np.float32), encoder.prefix)
    backend = EmbeddingBackend(encoder, head)
    backend.save(tmp_path, LabelSet(("a", "b", "c")))
    model = pooled_classifier.KanjoPooledClassifier.from_pretrained(tmp_path)
    assert model.config.prefix_ids  # the prefix is not empty in tokens
    batch = AutoTokenizer.from_pretrained(tmp_path)(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        got = model(**batch).logits.numpy()
    np.testing.assert_allclose(got, backend.logits(TEXTS, 8)[0], atol=1e-5)
    without = EmbeddingBackend(SentenceEncoder.load(tiny_bert), head)
    assert not np.allclose(got, without.logits(TEXTS, 8)[0], atol=1e-3)  # it mattered


def test_a_pair_model_splits_the_pair_encoding(tiny_bert: Path, tmp_path: Path) -> None:
    """The pipeline's joint encoding of (a, b) is split at the separator: the head sees both
    texts' own vectors, as kanjo computes them; a single text is refused."""
    from transformers import pipeline

    encoder = SentenceEncoder.load(tiny_bert)
    rng = np.random.default_rng(1)
    head = LinearHead(rng.normal(size=(2, 4 * encoder.dim)).astype(np.float32),
                      rng.normal(size=2).astype(np.float32), features=PAIR_FEATURES)
    backend = EmbeddingBackend(encoder, head)
    backend.save(tmp_path, LabelSet(("no", "yes")))
    pairs = [("温泉は最高でした。", "温泉"), ("料理は最悪でした。", "部屋は 広い 。")]
    classify = pipeline("text-classification", model=str(tmp_path), top_k=None,
                        trust_remote_code=True, function_to_apply="none")
    for pair, logits in zip(pairs, backend.logits(pairs, 8)[0], strict=True):
        got = {r["label"]: r["score"] for r in classify({"text": pair[0], "text_pair": pair[1]})}
        assert [got["no"], got["yes"]] == pytest.approx(logits.tolist(), abs=1e-5)
    with pytest.raises(ValueError, match="sentence pairs"):
        classify("温泉は最高でした。")


def test_a_directory_of_the_earlier_layout_still_loads(frozen_model: Path,
                                                       tmp_path: Path) -> None:
    """Before KanjoPooledClassifier: the encoder as a bare AutoModel, head.safetensors."""
    clf = kanjo.load(frozen_model)
    backend = clf.backend
    old = tmp_path / "old"
    old.mkdir()
    backend.encoder.save(old)
    backend.head.save(old)
    meta = json.loads((frozen_model / "kanjo.json").read_text(encoding="utf-8"))
    meta.pop("checksums")
    (old / "kanjo.json").write_text(json.dumps(meta), encoding="utf-8")
    np.testing.assert_allclose(kanjo.load(old).predict_proba(TEXTS), clf.predict_proba(TEXTS),
                               atol=1e-6)
    copy = tmp_path / "copy"
    shutil.copytree(frozen_model, copy)
    assert kanjo.load(copy).predict(TEXTS) == clf.predict(TEXTS)


def test_the_remote_code_imports_only_torch_and_transformers() -> None:
    """transformers runs the copied file without kanjo installed."""
    tree = ast.parse(Path(pooled_classifier.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "typing", "torch", "transformers"}, imported


def test_training_from_an_embeddings_model_is_refused(frozen_model: Path, toy_csv: Path,
                                                      tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "again"),
                            "--model", str(frozen_model)], capsys)
    assert code == 2 and "embeddings-recipe model" in err and "base_model" in err
    assert "Traceback" not in err and not (tmp_path / "again").exists()


def test_a_single_text_embeddings_model_exports_to_onnx(frozen_model: Path, tiny_bert: Path,
                                                        tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """Pooling, normalisation, the head and the prefix tokens are in the graph: fp32 gives
    kanjo's probabilities, int8 its labels; --trim-vocab is refused."""
    from kanjo.export.onnx import export
    from kanjo.inference.classifier import Classifier

    long_text = "部屋 と 温泉 " * 60  # truncated: the prefix must still fit in the length
    texts = [*TEXTS, long_text]
    clf = kanjo.load(frozen_model)
    fp32 = kanjo.load(export(frozen_model, tmp_path / "fp32"))
    assert fp32.backend.kind == "onnx"
    np.testing.assert_allclose(fp32.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    int8 = kanjo.load(export(frozen_model, tmp_path / "int8", quantize="int8",
                             calibration_texts=TEXTS * 8))
    assert int8.predict(texts) == clf.predict(texts)
    code, _, err = run_cli(["export", str(frozen_model), "--out", str(tmp_path / "t"),
                            "--trim-vocab"], capsys)
    assert code == 2 and "--trim-vocab" in err and not (tmp_path / "t").exists()

    encoder = SentenceEncoder.load(tiny_bert, max_length=24, prefix="部屋 : ")
    rng = np.random.default_rng(2)
    head = LinearHead(rng.normal(size=(3, encoder.dim)).astype(np.float32),
                      np.zeros(3, dtype=np.float32), encoder.prefix)
    prefixed = Classifier(EmbeddingBackend(encoder, head), LabelSet(("a", "b", "c")),
                          {"pairs": False}).save(tmp_path / "prefixed")
    source = kanjo.load(prefixed)
    exported = kanjo.load(export(prefixed, tmp_path / "prefixed-onnx"))
    assert exported.backend.max_length < source.backend.max_length  # room for the prefix
    np.testing.assert_allclose(exported.predict_proba(texts), source.predict_proba(texts),
                               atol=1e-5)
