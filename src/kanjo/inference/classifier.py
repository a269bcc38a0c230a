"""Classifier: load a model directory and predict, batched and length-sorted, input order kept.

The backend follows the directory's contents: transformers weights (torch), the TF-IDF
baseline, or an ONNX export.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.data.normalize import NORMALIZATION, normalize_text
from kanjo.data.targets import Targets, target_from_names, with_label_sep
from kanjo.errors import KanjoError, ModelError
from kanjo.inference.backend import Backend, config_labels, config_task, load_backend
from kanjo.inference.decision_rules import MultiLabelRule, Rule, decision_rule
from kanjo.models.tokenize import encode
from kanjo.storage import atomic_directory, read_meta, record_checksums, verify, write_meta


class Classifier:
    """A trained text classifier — single-label, multi-label, or a regressor (``task``):
    ``predict``, ``predict_proba``, ``predict_values``, ``evaluate``, ``save``. Inputs are
    texts, or ``(text, text_pair)`` tuples for a sentence-pair model. How scores become
    predictions is the task's rule (:mod:`~kanjo.inference.decision_rules`)."""

    def __init__(self, backend: Backend, labels: Targets, meta: dict[str, Any] | None = None,
                 path: Path | None = None):
        self.backend = backend
        self.labels = labels
        self.meta = dict(meta or {})
        self.path = path
        self.temperature = float(self.meta.get("temperature", 1.0))
        self.last_truncated = 0

    @classmethod
    def load(cls, path: str | Path, device: str = "auto",
             threads: int | None = None) -> Classifier:
        """Load a kanjo output, an ONNX export or a plain transformers classification model;
        ``threads`` sets an ONNX export's onnxruntime threads (e.g. a Ray actor's CPUs)."""
        path = Path(path)
        if not path.is_dir():
            raise ModelError("no such model directory", file=path)
        meta = read_meta(path)
        _check_meta(path, meta)
        verify(path, meta)
        backend = load_backend(path, meta, device, threads)
        names = meta.get("labels") or config_labels(path)
        if len(names) != backend.num_labels:
            raise ModelError(f"lists {len(names)} labels but the model has "
                             f"{backend.num_labels} outputs", file=path / "kanjo.json",
                             hint="kanjo.json was edited or belongs to another model")
        meta["task"] = meta.get("task") or config_task(path)  # plain transformers: problem_type
        classifier = cls(backend, target_from_names(meta["task"], names, meta), meta, path)
        classifier.rule  # noqa: B018 (a damaged task or thresholds entry fails here, not later)
        return classifier

    @property
    def task(self) -> str:
        """``"classification"``, ``"multi-label"`` or ``"regression"``."""
        return self.labels.task

    @property
    def rule(self) -> Rule:
        """How scores become predictions for this model's task
        (:mod:`~kanjo.inference.decision_rules`; multi-label thresholds from kanjo.json)."""
        return decision_rule({**self.meta, "task": self.task}, len(self.labels))

    def require_classes(self, what: str) -> None:
        """Raise :class:`ModelError` naming ``what`` when this model has no class
        probabilities (a regression): calibration, explanations and label issues need them."""
        if not self.rule.has_probabilities:
            raise ModelError(f"is a {self.task} model, without the class probabilities that "
                             f"{what} works on",
                             file=self.path, hint="a regression predicts values: use "
                             "predict / predict_values, evaluate for Pearson and RMSE")

    def require_single_texts(self, what: str) -> None:
        """Raise :class:`ModelError` naming ``what`` when this model reads sentence pairs."""
        if self.meta.get("pairs"):
            raise ModelError(f"reads sentence pairs; {what} works on single texts", file=self.path,
                             hint="predict and evaluate take pairs (a CSV/TSV/JSONL file with "
                                  "two text columns, or (text, text_pair) tuples)")

    def predict_values(self, texts: Sequence[str] | Sequence[tuple[str, str]],
                       batch_size: int = 64, clip: bool = False) -> np.ndarray:
        """A regression's predicted values [n] (float32, input order, the target's units),
        with ``clip`` limited to the training range (kanjo.json ``target_range``)."""
        if self.task != "regression":
            raise ModelError("is a classifier: it predicts labels, not values", file=self.path,
                             hint="use predict or predict_proba")
        values = self.predict_outputs(texts, batch_size)[:, 0]
        return self.labels.clip(values) if clip else values

    def predict_outputs(self, texts: Sequence[str] | Sequence[tuple[str, str]],
                        batch_size: int = 64) -> np.ndarray:
        """What the task's rule makes of the scores, [n, k] in input order: class
        probabilities (calibrated when the model is), each label's own probability
        (multi-label: sigmoid, rows need not sum to 1), or a regression's values [n, 1]."""
        texts = self._prepared(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        scores, self.last_truncated = self.backend.logits(texts, batch_size)
        return self.rule.outputs(scores, self.temperature)

    def _prepared(self, texts: Any) -> list[Any]:
        """``texts`` checked (texts, or pairs for a pair model) and normalised as in training."""
        texts = _check_texts(texts, self.meta.get("pairs"))
        if self.meta.get("text_normalization") == NORMALIZATION:
            texts = [normalize_text(t) if isinstance(t, str) else tuple(map(normalize_text, t))
                     for t in texts]
        return texts

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities [n, k] in input order (calibrated when the model is); for a
        multi-label model each label's own probability (sigmoid; rows need not sum to 1).
        Texts get the normalisation the model was trained with (kanjo.json
        ``text_normalization``: NFKC, see :mod:`kanjo.data.normalize`) first. Raises
        :class:`ModelError` for a regression (see :meth:`predict_values`)."""
        self.require_classes("predict_proba")
        return self.predict_outputs(texts, batch_size)

    def logits_and_truncation(self, texts: Sequence[str],
                              batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Raw class scores [n, k] (float32, input order) and whether each text was truncated
        [n] (bool). Unlike ``predict_proba`` it keeps no state, so ``last_truncated`` is left as
        it was. Raises :class:`KanjoError` for an empty or non-string text."""
        texts = _check_texts(texts, self.meta.get("pairs"))
        if not texts:
            return (np.zeros((0, len(self.labels)), dtype=np.float32), np.zeros(0, dtype=bool))
        scores, cut = self.backend.logits(texts, batch_size)
        flags = np.zeros(len(texts), dtype=bool)
        if cut:  # rare: find which texts were cut, one at a time
            tokenizer = self.backend.tokenizer  # type: ignore[attr-defined]
            flags[:] = [encode(tokenizer, [t], self.backend.max_length)[1] > 0 for t in texts]
        return scores, flags

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities [n, k] from raw scores [n, k] (temperature-calibrated softmax;
        multi-label: per-label sigmoid). Raises :class:`ModelError` for a regression."""
        self.require_classes("class probabilities")
        return self.rule.outputs(scores, self.temperature)

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Any]:
        """The most probable label name per text (or pair); for a multi-label model the list
        of labels whose probability reaches their threshold (possibly empty); a regression's
        value per text."""
        return self.rule.predict(self.predict_outputs(texts, batch_size), self.labels.names)

    def evaluate(self, data: Any, split: str | None = None, batch_size: int = 64,
                 **read_options: Any) -> dict[str, Any]:
        """Metrics on labelled data: a file, a DataFrame, (text, label) pairs or (texts, labels)
        (:func:`~kanjo.data.inputs.as_table`); ``split`` selects rows by the split column.
        The figures are the task rule's: classification metrics, a multi-label model's
        :func:`~kanjo.evaluation.multi_label.multi_label_metrics` at its stored thresholds
        (label sets read as it was trained to; ``label_sep`` overrides kanjo.json's), a
        regression's Pearson, Spearman, RMSE and MAE."""
        from kanjo.data.inputs import as_table, fingerprint

        targets = with_label_sep(self.labels, read_options.pop("label_sep", None))
        table = as_table(data, **{"task": self.task, **read_options})
        data = self.meta.get("data", {})
        dev, train = data.get("dev", {}), data.get("train", {})
        same_file = split in (None, "dev") and fingerprint(table) == dev.get("sha256")
        trained_on = split in (None, "train") and bool(train.get("sha256")) and \
            fingerprint(table) == train["sha256"]
        if split is not None:
            if split == "dev" and dev.get("source") == "held-out" and (
                    table.splits is None or "dev" not in table.splits):
                table = self._held_out_dev(table, dev, same_file)
            else:
                table = table.where_split(split)
            if not len(table):
                raise KanjoError(f"has no rows of split '{split}'", file=table.path)
        y_true = targets.encode(table)
        outputs = self.predict_outputs(table.inputs, batch_size)
        metrics = self.rule.metrics(y_true, outputs, self.labels.names)
        fitted = self._fitted_on_dev() if same_file else []
        notes = []
        if trained_on:
            notes.append(f"these rows include the {train.get('rows', 'training')} rows the model "
                         "was trained on: the scores overstate; score held-out rows (--split "
                         "dev, or a file it never saw)")
        if fitted:
            notes.append(f"these rows include the dev rows the model {' and '.join(fitted)} on: "
                         "the scores, ECE above all, are not a held-out measure; score rows it "
                         "never saw for that")
        if notes:
            metrics["note"] = "; ".join(notes)
        return metrics

    def _fitted_on_dev(self) -> list[str]:
        """What training chose on its dev rows, from kanjo.json: the checkpoint (fine-tuning
        with enough dev rows), the temperature, the multi-label thresholds. Empty for a model
        whose dev rows were only scored (the embeddings recipe, a small dev set)."""
        meta = self.meta
        fitted = []
        if str(meta.get("checkpoint_selection", "")).startswith("best"):
            fitted.append("selected its checkpoint")
        if (meta.get("calibration") or {}).get("method"):
            fitted.append("fitted its temperature")
        tuned = (meta.get("thresholds_selection") or {}).get("tuned")
        if tuned is not None and any(tuned):  # all False: every label kept the 0.5 fallback
            fitted.append("chose its decision thresholds" if all(tuned) else
                          f"chose {sum(tuned)} of its {len(tuned)} decision thresholds")
        return fitted

    def explain(self, texts: Sequence[str], target: str | None = None, method: str = "auto",
                **options: Any) -> list[Any]:
        """Word attributions per text: :func:`kanjo.explain.explain` (a list of
        ``Explanation``). Imported lazily: the explain layer sits above inference."""
        return importlib.import_module("kanjo.explain").explain(self, texts, target, method,
                                                               **options)

    @staticmethod
    def _held_out_dev(table: Any, dev: dict[str, Any], same_file: bool) -> Any:
        """The rows of ``table`` that were the model's held-out dev rows: kanjo.json's ``dev``
        records their line numbers and the file's sha256 (``same_file``: it matched)."""
        if not same_file:
            raise KanjoError("is not the file this model's dev rows were held out from",
                             file=table.path, hint=f"the model was trained on {dev['file']} "
                             "(sha256 differs); evaluate that file, or pass rows with a split "
                             "column")
        lines = set(dev["lines"])
        return table.subset([i for i, line in enumerate(table.lines) if line in lines])

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory atomically."""
        path = Path(path)
        with atomic_directory(path, overwrite) as staged:
            self.save_to(staged)
        self.path = path
        return path

    def save_to(self, directory: Path) -> None:
        """Write the model files and kanjo.json into an existing (staging) directory."""
        weights = self.backend.save(directory, self.labels)
        self.meta.update(labels=list(self.labels.names), backend=self.backend.kind,
                         max_length=self.backend.max_length, temperature=self.temperature,
                         task=self.task)
        if isinstance(self.rule, MultiLabelRule):  # the thresholds every backend applies
            self.meta["thresholds"] = self.rule.thresholds.tolist()
        self.meta["checksums"] = record_checksums(directory, weights)
        write_meta(directory, self.meta)

    def __repr__(self) -> str:
        return f"Classifier(labels={list(self.labels.names)}, backend={self.backend.kind})"


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


def _check_texts(texts: Sequence[Any], pairs: bool | None = None) -> list[Any]:
    """``texts`` as a list, each a non-empty string or (``pairs``) a ``(text, text_pair)``
    tuple of them; ``pairs`` None (a model without the record) takes either, not mixed."""
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    out = [tuple(t) if isinstance(t, list) else t for t in texts]
    want = pairs if pairs is not None else bool(out) and isinstance(out[0], tuple)
    for i, text in enumerate(out):
        if want and not isinstance(text, str):
            if not (isinstance(text, tuple) and len(text) == 2 and all(
                    isinstance(t, str) and t.strip() for t in text)):
                raise KanjoError(f"input #{i + 1} is not a (text, text_pair) pair of "
                                 "non-empty strings")
        elif want:
            raise KanjoError(f"input #{i + 1} is a single text, but this model reads sentence "
                             "pairs", hint="pass (text, text_pair) tuples")
        elif isinstance(text, tuple):
            raise KanjoError(f"input #{i + 1} is a pair, but this model reads single texts")
        elif not isinstance(text, str) or not text.strip():
            raise KanjoError(f"text #{i + 1} is empty or not a string")
    return out

