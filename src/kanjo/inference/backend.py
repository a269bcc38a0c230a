"""What every backend does, and which backend a model directory needs.

A backend turns texts into class scores (logits); the :class:`~kanjo.inference.classifier.
Classifier` around it adds labels, calibration and metrics. The backend follows the directory's
``kanjo.json`` (``backend``: torch, onnx, tfidf or embedding; a plain transformers directory is
torch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kanjo.errors import ModelError


class Backend(Protocol):
    """Turns texts into one row of class scores (logits) each."""

    kind: str
    max_length: int | None
    num_labels: int

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        """Scores [n, k] in input order, and how many texts were truncated."""

    def save(self, directory: Path, labels: Any) -> list[str]:
        """Write the model files for a model of ``labels`` (a LabelSet, MultiLabelSet or
        RegressionTarget: names and ``problem_type``); return the names of the weight files."""


def load_backend(path: Path, meta: dict[str, Any], device: str = "auto",
                 threads: int | None = None) -> Backend:
    """The backend for the model directory ``path`` whose kanjo.json is ``meta``; ``threads``:
    onnxruntime's intra-op threads for an ONNX export [the usable physical cores].

    Raises :class:`ModelError` naming the directory for anything that stops it from loading: not
    a classifier, a missing, truncated or damaged weight, tokenizer or config file, an unknown
    backend. ``--debug`` shows the loader's own exception as the cause."""
    kind = meta.get("backend", "torch")
    if kind not in ("torch", "onnx", "tfidf", "embedding"):
        raise ModelError(f"names an unknown backend {kind!r}", file=path / "kanjo.json",
                         hint="expected torch, onnx, tfidf or embedding: re-train or re-export "
                              "the model")
    if kind == "torch":
        _check_classifier_config(path, meta)
    try:
        if kind == "tfidf":
            from kanjo.inference.tfidf_backend import TfidfBackend

            return TfidfBackend.load(path)
        if kind == "onnx":
            from kanjo.inference.onnx_backend import OnnxBackend

            return OnnxBackend.load(path, meta.get("max_length"), threads)
        if kind == "embedding":
            from kanjo.inference.embedding_backend import EmbeddingBackend

            return EmbeddingBackend.load(path, meta.get("max_length"), device)
        from kanjo.inference.torch_backend import TorchBackend

        return TorchBackend.load(path, meta.get("max_length"), device)
    except ModelError:
        raise
    except Exception as exc:  # each loader (safetensors, onnxruntime, tokenizers, json) has its own
        from kanjo.models.resolve import tokenizer_dependency_error

        mecab = tokenizer_dependency_error(exc, path)
        if mecab is not None:
            raise mecab from exc
        raise ModelError(f"cannot load the {kind} model: {_reason(exc)}", file=path,
                         hint="the directory is damaged or incomplete: re-train or re-export "
                              "it") from exc


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _check_classifier_config(path: Path, meta: dict[str, Any]) -> None:
    """A transformers directory must hold a sequence-classification model: anything else (a
    masked LM from ``kanjo pretrain``, a bare encoder) would load with a random head."""
    config = read_json(path / "config.json", "has no config.json: not a model directory")
    architectures = config.get("architectures") or []
    if meta.get("kind") == "masked-lm":
        problem = "is a masked language model (kanjo pretrain output), not a classifier"
    elif architectures and not any(a.endswith("ForSequenceClassification")
                                   for a in architectures):
        problem = f"holds {', '.join(architectures)}, not a text-classification model"
    else:
        return
    raise ModelError(problem, file=path,
                     hint=f"train a classifier on it: kanjo train DATA --model {path} --out MODEL")


def config_task(path: Path) -> str:
    """The task of a plain transformers directory: config.json's ``problem_type``
    ``regression`` is a regression, ``multi_label_classification`` multi-label (sigmoid, 0.5),
    anything else (or no config.json) a classification."""
    if not (path / "config.json").exists():
        return "classification"
    problem = read_json(path / "config.json", "").get("problem_type")
    return {"regression": "regression",
            "multi_label_classification": "multi-label"}.get(problem, "classification")


def config_labels(path: Path) -> list[str]:
    config = read_json(path / "config.json", "has no kanjo.json and no config.json")
    id2label = config.get("id2label") or {}
    if not id2label:
        raise ModelError("has no labels (no kanjo.json and no id2label in config.json)",
                         file=path)
    return [id2label[k] for k in sorted(id2label, key=int)]


def read_json(path: Path, missing: str) -> dict[str, Any]:
    """A JSON object from ``path``; :class:`ModelError` naming it when it is absent
    (``missing`` says what that means), unreadable or not an object."""
    if not path.exists():
        raise ModelError(missing, file=path.parent)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"is damaged: {exc}", file=path) from None
    if not isinstance(value, dict):
        raise ModelError("is damaged: not a JSON object", file=path)
    return value
