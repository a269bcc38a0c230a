"""``build_report``: one self-contained HTML page about a model on a labelled file."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment
from markupsafe import Markup

from kanjo.errors import DataError, KanjoError

ISSUE_COLUMNS = ("line", "text", "given", "suggested", "quality")


def build_report(classifier: Any, data: str | Path, *, split: str | None = None,
                 issues: str | Path | None = None, errors: int = 10,
                 explain_method: str = "auto", resamples: int = 1000, seed: int = 0,
                 show_issues: int = 100, **read_options: Any) -> str:
    """The HTML of the report of ``classifier`` on the labelled file ``data`` (rows of
    ``split`` only, when given): metrics with bootstrap 95 % intervals, per-class scores, the
    confusion heat map, the reliability diagram with ECE, precision-recall curves, training
    curves from ``MODEL/logs``, the ``errors`` most confident errors with word highlights
    (``explain_method``), the label issues of an ``issues`` CSV (``kanjo label-issues
    --out``) and the model card. Raises :class:`KanjoError` for unreadable data or issues,
    and for a multi-label model (the page is built on a confusion matrix and a softmax)."""
    from kanjo.data.readers import read_table
    from kanjo.evaluation.bootstrap import bootstrap_intervals
    from kanjo.evaluation.metrics import classification_metrics
    from kanjo.report import plots
    from kanjo.report.model_card import model_card
    from kanjo.report.template import CSS, PAGE
    from kanjo.report.training_logs import read_curves

    classifier.require_classes("the report (per-class scores, calibration, confusions)")
    classifier.require_single_texts("the report (word highlights of its errors)")
    if getattr(classifier, "task", "classification") != "classification":
        raise KanjoError(f"kanjo report covers single-label classifiers; this model's task is "
                         f"{classifier.task}", hint="kanjo evaluate MODEL DATA gives its "
                         "figures (--json for programs)")
    table = read_table(data, **read_options)
    if split is not None:
        table = table.where_split(split)
        if not len(table):
            raise KanjoError(f"has no rows of split '{split}'", file=table.path)
    shown = _read_issues(Path(issues)) if issues is not None else None
    names = list(classifier.labels.names)
    y = classifier.labels.encode(table)
    proba = classifier.predict_proba(table.texts)
    predicted = proba.argmax(axis=1)
    metrics = classification_metrics(y, predicted, names, proba)
    intervals = bootstrap_intervals(y, predicted, len(names), resamples=resamples, seed=seed)
    curves = read_curves(classifier.path) if classifier.path is not None else {}
    source = (classifier.meta.get("export") or {}).get("source")
    if not curves and source:  # an ONNX export: the logs of the model it was exported from
        curves = read_curves(Path(source))
    env = Environment(autoescape=True)
    return env.from_string(PAGE).render(
        title=Path(str(classifier.path or "model")).name, data_name=Path(table.path).name,
        split=split, n=len(table), generated=datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"), css=Markup(CSS), metrics=metrics,
        intervals=intervals, resamples=resamples, labels=names,
        confusion=_confusion(metrics["confusion_matrix"], names),
        reliability=Markup(plots.reliability_diagram(metrics["reliability"], metrics["ece"])),
        pr_curves=Markup(plots.pr_curves(y, proba, names)),
        training=Markup(plots.training_curves(curves)) if curves else None,
        model_name=Path(str(classifier.path or "MODEL")).name,
        errors=_confident_errors(classifier, table, y, proba, errors, explain_method),
        issues=shown, shown_issues=(shown or [])[:show_issues], card=model_card(classifier))


def _confusion(matrix: list[list[int]], names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name, counts in zip(names, matrix, strict=True):
        total = sum(counts) or 1
        rows.append({"label": name, "cells": [{"count": c, "share": c / total}
                                              for c in counts]})
    return rows


def _confident_errors(classifier: Any, table: Any, y: np.ndarray, proba: np.ndarray,
                      limit: int, method: str) -> list[dict[str, Any]]:
    """The ``limit`` wrong predictions with the highest predicted probability, explained
    towards the predicted label."""
    from kanjo.explain import explain
    from kanjo.explain.html import highlight

    wrong = np.flatnonzero(proba.argmax(axis=1) != y)
    wrong = wrong[np.argsort(-proba[wrong].max(axis=1), kind="stable")][:limit]
    if not len(wrong):
        return []
    names = classifier.labels.names
    explanations = explain(classifier, [table.texts[i] for i in wrong], method=method)
    return [{"line": table.lines[i], "html": highlight(e), "gold": names[y[i]],
             "predicted": e.label, "probability": e.probability, "method": e.method,
             "truncated": e.truncated} for i, e in zip(wrong, explanations, strict=True)]


def _read_issues(path: Path) -> list[dict[str, str]]:
    """The rows of a ``kanjo label-issues --out`` CSV, in file order (most suspicious first)."""
    if not path.is_file():
        raise DataError("no such label-issues file", file=path)
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ISSUE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"is not a kanjo label-issues file (no {', '.join(missing)} "
                            "column)", file=path, hint="make it with kanjo label-issues --out")
        return [{c: row[c] for c in ISSUE_COLUMNS} for row in reader]
