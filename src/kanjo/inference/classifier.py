"""Classifier: load a model directory and predict, batched and length-sorted, input order kept.

The backend follows the directory's contents: transformers weights (torch), the TF-IDF
baseline, or an ONNX export.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.data.labels import LabelSet
from kanjo.errors import KanjoError, ModelError
from kanjo.evaluation.calibration import softmax
from kanjo.inference.backend import Backend, config_labels, load_backend
from kanjo.storage import (
    atomic_directory,
    read_meta,
    record_checksums,
    sha256_file,
    verify,
    write_meta,
)


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
        _check_meta(path, meta)
        verify(path, meta)
        backend = load_backend(path, meta, device)
        names = meta.get("labels") or config_labels(path)
        if len(names) != backend.num_labels:
            raise ModelError(f"lists {len(names)} labels but the model has "
                             f"{backend.num_labels} outputs", file=path / "kanjo.json",
                             hint="kanjo.json was edited or belongs to another model")
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
        from kanjo.evaluation.metrics import classification_metrics

        table = data if isinstance(data, Table) else read_table(data, **read_options)
        if split is not None:
            table = table.where_split(split)
            if not len(table):
                raise KanjoError(f"has no rows of split '{split}'", file=table.path)
        y_true = self.labels.encode(table)
        proba = self.predict_proba(table.texts, batch_size)
        metrics = classification_metrics(y_true, proba.argmax(axis=1), self.labels.names, proba)
        note = _calibration_note(self.meta, table)
        if note:
            metrics["calibration_note"] = note
        return metrics

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory atomically."""
        path = Path(path)
        with atomic_directory(path, overwrite) as staged:
            self.save_to(staged)
        self.path = path
        return path

    def save_to(self, directory: Path) -> None:
        """Write the model files and kanjo.json into an existing (staging) directory."""
        weights = self.backend.save(directory)
        self.meta.update(labels=list(self.labels.names), backend=self.backend.kind,
                         max_length=self.backend.max_length, temperature=self.temperature)
        self.meta["checksums"] = record_checksums(directory, weights)
        write_meta(directory, self.meta)

    def __repr__(self) -> str:
        return f"Classifier(labels={list(self.labels.names)}, backend={self.backend.kind})"


def _calibration_note(meta: dict[str, Any], table: Any) -> str | None:
    """A warning when ``table`` is the file whose rows the temperature was fitted on: its ECE
    then flatters the model (12 dev rows once gave ECE 0.001 at T = 0.05)."""
    if meta.get("calibration") != "temperature fitted on the dev rows" or table.path is None:
        return None
    dev = (meta.get("data") or {}).get("dev") or {}
    try:
        same = dev.get("sha256") == sha256_file(Path(table.path))
    except OSError:
        return None
    if not same:
        return None
    return (f"the temperature was fitted on the {dev.get('rows')} dev rows of this file: ece "
            "here is not a held-out measure")


def _check_meta(path: Path, meta: dict[str, Any]) -> None:
    """The kanjo.json fields that loading relies on have the right types (an edited file
    otherwise fails deep inside a loader)."""
    problems = []
    labels = meta.get("labels")
    if labels is not None and not (isinstance(labels, list) and labels and all(
            isinstance(x, str) and x for x in labels) and len(set(labels)) == len(labels)):
        problems.append("labels must be a list of distinct, non-empty names")
    temperature = meta.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or \
            not temperature > 0:
        problems.append(f"temperature must be a number > 0, got {temperature!r}")
    max_length = meta.get("max_length")
    if max_length is not None and (isinstance(max_length, bool) or
                                   not isinstance(max_length, int) or max_length < 2):
        problems.append(f"max_length must be an integer ≥ 2, got {max_length!r}")
    checksums = meta.get("checksums", {})
    if not isinstance(checksums, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("bytes"), int) for v in checksums.values()):
        problems.append("checksums must map file names to {bytes, sha256}")
    if problems:
        raise ModelError(f"is damaged: {'; '.join(problems)}", file=path / "kanjo.json",
                         hint="restore the file, or re-train / re-export the model")


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str) or not text.strip():
            raise KanjoError(f"text #{i + 1} is empty or not a string")
    return out

