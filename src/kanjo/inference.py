"""Classifier: load a model directory and predict, batched and length-sorted, input order kept.

The backend follows the directory's contents: transformers weights (torch), the TF-IDF
baseline, or an ONNX export.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kanjo.data.labels import LabelSet
from kanjo.errors import KanjoError, ModelError
from kanjo.storage import atomic_directory, read_meta, verify, write_meta


class Backend(Protocol):
    """Turns texts into one row of class scores (logits) each."""

    kind: str
    max_length: int | None

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        """Scores [n, k] in input order, and how many texts were truncated."""

    def save(self, directory: Path) -> list[str]:
        """Write the model files; return the names of the weight files."""


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches of similar length (longest first), so padding is small."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def select_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def model_max_length(model: Any, tokenizer: Any, wanted: int | None = None) -> int:
    """The longest input the model accepts: ``wanted`` capped by its position embeddings and
    the tokenizer's own limit."""
    limits = [wanted or 512, getattr(tokenizer, "model_max_length", None) or 10**6]
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        # RoBERTa-style models reserve the first positions for padding
        offset = 2 if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta") else 0
        limits.append(positions - offset)
    return int(min(limits))


class TorchBackend:
    """A transformers sequence-classification model and its tokenizer."""

    kind = "torch"

    def __init__(self, model: Any, tokenizer: Any, max_length: int, device: str = "auto"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = select_device(device)
        self.model.to(self.device)

    @classmethod
    def load(cls, path: Path, max_length: int | None, device: str = "auto") -> TorchBackend:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = AutoModelForSequenceClassification.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        return cls(model, tokenizer, model_max_length(model, tokenizer, max_length), device)

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        import torch

        from kanjo.tokenize import encode

        ids, cut = encode(self.tokenizer, texts, self.max_length)
        out = np.zeros((len(texts), self.model.config.num_labels), dtype=np.float32)
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], batch_size):
                padded = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]},
                                            return_tensors="pt")
                padded = {k: v.to(self.device) for k, v in padded.items()}
                out[batch] = self.model(**padded).logits.float().cpu().numpy()
        return out, cut

    def save(self, directory: Path) -> list[str]:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        return ["model.safetensors"]


class TfidfBackend:
    """The TF-IDF character n-gram baseline; its scores are log-probabilities."""

    kind = "tfidf"
    max_length = None

    def __init__(self, model: Any):
        self.model = model

    @classmethod
    def load(cls, path: Path) -> TfidfBackend:
        from kanjo.models.tfidf import TfidfClassifier

        return cls(TfidfClassifier.load(path))

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        return np.log(np.clip(self.model.predict_proba(texts), 1e-12, 1.0)), 0

    def save(self, directory: Path) -> list[str]:
        self.model.save(directory)
        return sorted(p.name for p in Path(directory).iterdir() if p.suffix == ".safetensors")


class Classifier:
    """A trained text classifier: ``predict``, ``predict_proba``, ``evaluate``, ``save``."""

    def __init__(self, backend: Backend, labels: LabelSet, meta: dict[str, Any] | None = None,
                 path: Path | None = None):
        self.backend = backend
        self.labels = labels
        self.meta = dict(meta or {})
        self.path = path
        self.temperature = float(self.meta.get("temperature", 1.0))
        self.last_truncated = 0

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Classifier:
        """Load a kanjo output, an ONNX export or a plain transformers classification model."""
        path = Path(path)
        if not path.is_dir():
            raise ModelError("no such model directory", file=path)
        meta = read_meta(path)
        verify(path, meta)
        backend_kind = meta.get("backend", "torch")
        if backend_kind == "tfidf":
            backend: Backend = TfidfBackend.load(path)
        elif backend_kind == "onnx":
            from kanjo.export import OnnxBackend

            backend = OnnxBackend.load(path, meta.get("max_length"))
        else:
            _check_classifier_config(path, meta)
            try:
                backend = TorchBackend.load(path, meta.get("max_length"), device)
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot load the model: {exc}", file=path) from None
        names = meta.get("labels") or _config_labels(path)
        return cls(backend, LabelSet(tuple(names)), meta, path)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities [n, k] in input order (calibrated when the model is)."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        scores, self.last_truncated = self.backend.logits(texts, batch_size)
        return softmax(scores, self.temperature)

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[str]:
        """The most probable label name per text."""
        proba = self.predict_proba(texts, batch_size)
        return [self.labels.names[i] for i in proba.argmax(axis=1)]

    def evaluate(self, data: Any, split: str | None = None, batch_size: int = 64,
                 **read_options: Any) -> dict[str, Any]:
        """Metrics on a labelled file (path) or Table; ``split`` selects rows by split column."""
        from kanjo.data.readers import Table, read_table
        from kanjo.evaluation import classification_metrics

        table = data if isinstance(data, Table) else read_table(data, **read_options)
        if split is not None:
            table = table.where_split(split)
            if not len(table):
                raise KanjoError(f"has no rows of split '{split}'", file=table.path)
        y_true = self.labels.encode(table)
        proba = self.predict_proba(table.texts, batch_size)
        return classification_metrics(y_true, proba.argmax(axis=1), self.labels.names, proba)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory atomically."""
        path = Path(path)
        with atomic_directory(path, overwrite) as staged:
            self.save_to(staged)
        self.path = path
        return path

    def save_to(self, directory: Path) -> None:
        """Write the model files and kanjo.json into an existing (staging) directory."""
        from kanjo.storage import record_checksums

        weights = self.backend.save(directory)
        self.meta.update(labels=list(self.labels.names), backend=self.backend.kind,
                         max_length=self.backend.max_length, temperature=self.temperature)
        self.meta["checksums"] = record_checksums(directory, weights)
        write_meta(directory, self.meta)

    def __repr__(self) -> str:
        return f"Classifier(labels={list(self.labels.names)}, backend={self.backend.kind})"


def _check_classifier_config(path: Path, meta: dict[str, Any]) -> None:
    """A transformers directory must hold a sequence-classification model: anything else (a
    masked LM from ``kanjo pretrain``, a bare encoder) would load with a random head."""
    import json

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


def _config_labels(path: Path) -> list[str]:
    import json

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    id2label = config.get("id2label") or {}
    if not id2label:
        raise ModelError("has no labels (no kanjo.json and no id2label in config.json)",
                         file=path)
    return [id2label[k] for k in sorted(id2label, key=int)]


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str) or not text.strip():
            raise KanjoError(f"text #{i + 1} is empty or not a string")
    return out

