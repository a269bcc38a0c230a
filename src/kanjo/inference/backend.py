"""What every backend does, and which backend a model directory needs.

A backend turns texts into class scores (logits); the :class:`~kanjo.inference.classifier.
Classifier` around it adds labels, calibration and metrics. The backend follows the directory's
``kanjo.json`` (``backend``: torch, onnx or tfidf; a plain transformers directory is torch).
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

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        """Scores [n, k] in input order, and how many texts were truncated."""

    def save(self, directory: Path) -> list[str]:
        """Write the model files; return the names of the weight files."""


def load_backend(path: Path, meta: dict[str, Any], device: str = "auto") -> Backend:
    """The backend for the model directory ``path`` whose kanjo.json is ``meta``.

    Raises :class:`ModelError` (naming the file) for a directory that is not a classifier or
    whose files are missing or damaged."""
    kind = meta.get("backend", "torch")
    if kind == "tfidf":
        from kanjo.inference.tfidf_backend import TfidfBackend

        return TfidfBackend.load(path)
    if kind == "onnx":
        from kanjo.inference.onnx_backend import OnnxBackend

        return OnnxBackend.load(path, meta.get("max_length"))
    if kind != "torch":
        raise ModelError(f"kanjo.json names an unknown backend {kind!r}", file=path / "kanjo.json",
                         hint="expected torch, onnx or tfidf: re-train or re-export the model")
    _check_classifier_config(path, meta)
    from kanjo.inference.torch_backend import TorchBackend

    try:
        return TorchBackend.load(path, meta.get("max_length"), device)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the model: {exc}", file=path) from None
    except (ImportError, RuntimeError) as exc:
        from kanjo.models.resolve import tokenizer_dependency_error

        raise tokenizer_dependency_error(exc, path) or exc from None


def _check_classifier_config(path: Path, meta: dict[str, Any]) -> None:
    """A transformers directory must hold a sequence-classification model: anything else (a
    masked LM from ``kanjo pretrain``, a bare encoder) would load with a random head."""
    if not (path / "config.json").exists():
        raise ModelError("has no config.json: not a model directory", file=path)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
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


def config_labels(path: Path) -> list[str]:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    id2label = config.get("id2label") or {}
    if not id2label:
        raise ModelError("has no labels (no kanjo.json and no id2label in config.json)",
                         file=path)
    return [id2label[k] for k in sorted(id2label, key=int)]
