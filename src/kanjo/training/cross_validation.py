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
from kanjo.data.targets import targets_for, task_of
from kanjo.errors import ConfigError, DataError
from kanjo.evaluation.metrics import classification_metrics
from kanjo.evaluation.regression_metrics import REGRESSION_KEYS, regression_metrics
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
                *REGRESSION_KEYS)


def cross_validate(data: str | Path, config: TrainConfig, folds: int = 5,
                   fold_seed: int | None = None) -> dict[str, Any]:
    """Per-fold metrics, their mean ± sd, and the out-of-fold probabilities: ``oof_proba[i]``
    is row ``rows[i]`` of the file (its position among the data rows) as scored by the one fold
    model that did not train on it. The folds are drawn with ``fold_seed`` (default: the
    config's seed): fix it to compare training seeds on the same folds."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    if config.pseudo_labels:
        raise ConfigError(
            "cross-validation cannot score --pseudo-labels: the model that labelled them was "
            "trained on rows that become held-out folds, so what it learnt of them leaks in",
            hint="measure self-training train → dev, with a teacher trained on train only")
    table = normalized(read_table(data, **read_options(config)))
    labels = targets_for(config.task, table, config.labels)
    regression = task_of(labels) == "regression"
    ids = labels.encode(table)
    duplicates = report_duplicates(table, ids)
    soft = soft_targets(labels, table, config.soft_labels)
    rows = np.arange(len(table))
    if table.splits is not None:
        rows = rows[np.array(table.splits) != "test"]
    smallest = np.bincount(strata(ids[rows])).min()
    if smallest < folds and not regression:
        raise DataError(f"has a class with only {smallest} rows: too few for {folds} folds",
                        file=table.path)
    pool = dataclasses.replace(table.subset(rows), splits=None)
    fold_seed = config.seed if fold_seed is None else fold_seed
    if duplicates.groups or pool.text_pairs is not None:  # a text (a premise) in one fold
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=fold_seed)
        splits = splitter.split(rows, strata(ids[rows]), split_groups(pool))
    else:
        splits = StratifiedKFold(n_splits=folds, shuffle=True,
                                 random_state=fold_seed).split(rows, strata(ids[rows]))
    results = []
    oof = np.zeros((len(rows), len(labels)))
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
            if regression:
                oof[test_part, 0] = classifier.predict_values(held_out.inputs)
                metrics = regression_metrics(ids[rows][test_part], oof[test_part, 0])
            else:
                oof[test_part] = classifier.predict_proba(held_out.inputs)
                metrics = classification_metrics(ids[rows][test_part],
                                                 oof[test_part].argmax(axis=1), labels.names,
                                                 oof[test_part])
        metrics["fold"] = k
        metrics["train_seconds"] = round(time.time() - started, 1)
        results.append(metrics)
    return {"folds": results, "summary": summarise(results), "n": int(len(rows)),
            "task": task_of(labels),
            "labels": list(labels.names), "integrity": integrity(table),
            "config": config.to_dict(), "fold_seed": fold_seed,
            "rows": rows.tolist(), "fold": fold_of.tolist(), "y": ids[rows].tolist(),
            "oof_proba": oof.tolist()}


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
    label, and one probability column per label (a regression: gold and predicted value)."""
    names = report["labels"]
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
    for row, fold, y, proba in zip(report["rows"], report["fold"], report["y"],
                                   report["oof_proba"], strict=True):
        writer.writerow([row, fold, names[y], names[int(np.argmax(proba))],
                         *(f"{p:.6f}" for p in proba)])
    write_text_atomic(Path(path), buffer.getvalue())
