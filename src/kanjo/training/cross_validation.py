"""Stratified k-fold cross-validation for any model source (transformers or tfidf).

Folds are stratified by class (a regression: by quantile bins of the target); copies of a text,
and sentence pairs that share their first text (a premise), stay in one fold.

Each fold trains on k−1 parts exactly as ``kanjo train`` does — holding out its own inner dev
split for checkpoint selection, early stopping and calibration — and is scored on the part it
never saw. Rows marked ``test`` in a split column are left out entirely. The out-of-fold
probabilities (every row scored by the fold model that never saw it) come back too, for
ensembling and error analysis without retraining.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.config import TrainConfig
from kanjo.data import read_table, train_dev_split
from kanjo.data.duplicates import report_duplicates, split_groups
from kanjo.data.splits import strata
from kanjo.data.targets import targets_for
from kanjo.errors import ConfigError, DataError
from kanjo.evaluation.regression_metrics import REGRESSION_KEYS
from kanjo.storage import write_text_atomic
from kanjo.training.finetune import fit
from kanjo.training.prepare import (
    TrainingData,
    integrity,
    normalized,
    read_options,
    soft_targets,
)

SUMMARY_KEYS = ("macro_f1", "accuracy", "weighted_f1", "macro_precision", "macro_recall", "ece",
                "micro_f1", "subset_accuracy", "hamming_loss", *REGRESSION_KEYS)


def cross_validate(data: str | Path, config: TrainConfig, folds: int = 5,
                   fold_seed: int | None = None) -> dict[str, Any]:
    """Per-fold metrics, their mean ± sd, and the out-of-fold probabilities: ``oof_proba[i]``
    is row ``rows[i]`` of the file (its position among the data rows) as scored by the one fold
    model that did not train on it. The folds are drawn with ``fold_seed`` (default: the
    config's seed): fix it to compare training seeds on the same folds. Multi-label
    (``config.task``): folds by iterative stratification over distinct texts
    (iterative-stratification's ``MultilabelStratifiedKFold``), each fold scored at its own
    model's thresholds; ``oof_labels`` holds those decisions [n, k]."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    if config.pseudo_labels:
        raise ConfigError(
            "cross-validation cannot score --pseudo-labels: the model that labelled them was "
            "trained on rows that become held-out folds, so what it learnt of them leaks in",
            hint="measure self-training train → dev, with a teacher trained on train only")
    table = normalized(read_table(data, **read_options(config)))
    labels = targets_for(config.task, table, config.labels, config.label_sep)
    ids = labels.encode(table)
    multi_label = ids.ndim == 2
    duplicates = report_duplicates(table, ids)
    soft = soft_targets(labels, table, config.soft_labels)
    rows = np.arange(len(table))
    if table.splits is not None:
        rows = rows[np.array(table.splits) != "test"]
    if labels.task != "regression":  # a regression's folds are stratified by quantile bins
        smallest = int((ids[rows].sum(axis=0) if multi_label else np.bincount(ids[rows])).min())
        if smallest < folds:
            raise DataError(f"has a {'label' if multi_label else 'class'} with only {smallest} "
                            f"rows: too few for {folds} folds", file=table.path)
    pool = dataclasses.replace(table.subset(rows), splits=None)
    fold_seed = config.seed if fold_seed is None else fold_seed
    if multi_label:  # every copy of a text (of a premise) in one fold
        splits = _label_set_folds(ids[rows], split_groups(pool), folds, fold_seed)
    elif duplicates.groups or pool.text_pairs is not None:  # a text (a premise) in one fold
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=fold_seed)
        splits = splitter.split(rows, strata(ids[rows]), split_groups(pool))
    else:
        splits = StratifiedKFold(n_splits=folds, shuffle=True,
                                 random_state=fold_seed).split(rows, strata(ids[rows]))
    results = []
    oof = np.zeros((len(rows), len(labels)))
    decided = np.zeros((len(rows), len(labels)), dtype=bool)
    fold_of = np.zeros(len(rows), dtype=int)
    for k, (train_part, test_part) in enumerate(splits, start=1):
        part = pool.subset(train_part)
        y_part = ids[rows][train_part]
        inner_train, inner_dev = train_dev_split(part, y_part, dev_fraction=config.dev_split,
                                                 seed=config.seed)
        prepared = TrainingData(
            labels, part.subset(inner_train), y_part[inner_train],
            part.subset(inner_dev) if inner_dev is not None else None,
            y_part[inner_dev] if inner_dev is not None else None,
            soft[rows][train_part][inner_train] if soft is not None else None,
        )
        started = time.time()
        with tempfile.TemporaryDirectory(prefix="kanjo-cv-") as tmp:
            classifier = fit(prepared, config, Path(tmp) / "model")
            held_out = pool.subset(test_part)
            fold_of[test_part] = k
            oof[test_part] = classifier.predict_outputs(held_out.inputs)
            metrics = classifier.rule.metrics(ids[rows][test_part], oof[test_part], labels.names)
            if multi_label:
                decided[test_part] = classifier.rule.decisions(oof[test_part])
        metrics["fold"] = k
        metrics["train_seconds"] = round(time.time() - started, 1)
        results.append(metrics)
    report = {"folds": results, "summary": summarise(results), "n": int(len(rows)),
              "task": labels.task, "labels": list(labels.names), "integrity": integrity(table),
              "config": config.to_dict(), "fold_seed": fold_seed,
              "rows": rows.tolist(), "fold": fold_of.tolist(), "y": ids[rows].tolist(),
              "oof_proba": oof.tolist()}
    if multi_label:
        report["oof_labels"] = decided.astype(int).tolist()
    return report


def _label_set_folds(y: np.ndarray, groups: np.ndarray, folds: int,
                     seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices of ``folds`` folds of multi-hot rows ``y`` [n, k]: distinct
    texts (``groups``) are dealt out by iterative stratification — a "no label" column
    included, so empty label sets spread too — and every copy of a text follows it."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    first = np.unique(groups, return_index=True)[1]
    columns = np.column_stack([y[first], y[first].sum(axis=1) == 0]).astype(int)
    splitter = MultilabelStratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = []
    for _, test_groups in splitter.split(np.zeros(len(first)), columns):
        test = np.isin(groups, test_groups)
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def summarise(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation of each headline metric over the folds."""
    out = {}
    for key in (*SUMMARY_KEYS, "train_seconds"):
        values = [r[key] for r in results if r.get(key) is not None]
        if values:
            out[key] = {"mean": statistics.mean(values),
                        "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
    return out


def write_predictions(report: dict[str, Any], path: str | Path) -> None:
    """The out-of-fold predictions as CSV: data row (0-based), its fold, gold and predicted
    label (multi-label: label sets as JSON lists, predicted at the fold model's thresholds),
    and one probability column per label."""
    import json

    names = report["labels"]

    def label_set(row: list[int]) -> str:
        return json.dumps([n for n, on in zip(names, row, strict=True) if on],
                          ensure_ascii=False)

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if report.get("task") == "regression":
        writer.writerow(["row", "fold", "gold", "predicted"])
        for row, fold, y, value in zip(report["rows"], report["fold"], report["y"],
                                       report["oof_proba"], strict=True):
            writer.writerow([row, fold, f"{y:g}", f"{value[0]:.6f}"])
        write_text_atomic(Path(path), buffer.getvalue())
        return
    writer.writerow(["row", "fold", "gold", "predicted", *(f"p_{name}" for name in names)])
    predicted = report.get("oof_labels")
    for i, (row, fold, y, proba) in enumerate(zip(report["rows"], report["fold"], report["y"],
                                                  report["oof_proba"], strict=True)):
        gold, guess = (label_set(y), label_set(predicted[i])) if predicted is not None else (
            names[y], names[int(np.argmax(proba))])
        writer.writerow([row, fold, gold, guess, *(f"{p:.6f}" for p in proba)])
    write_text_atomic(Path(path), buffer.getvalue())
