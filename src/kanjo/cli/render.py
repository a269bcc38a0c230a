"""Terminal reports: metric tables for people (``--json`` gives the same figures to programs)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_metrics(console: Console, metrics: dict[str, Any]) -> None:
    """Summary, per-class scores, the confusion matrix and, when present, calibration; a
    multi-label model's figures per label; a regression's Pearson, Spearman, RMSE and MAE."""
    if metrics.get("task") == "multi-label":
        print_multi_label_metrics(console, metrics)
        return
    summary = Table(title=f"{metrics['n']} rows", show_header=False)
    if "pearson" in metrics:
        for key, name in (("pearson", "Pearson"), ("spearman", "Spearman"), ("rmse", "RMSE"),
                          ("mae", "MAE")):
            value = metrics[key]
            summary.add_row(name, "n/a (constant)" if value is None else f"{value:.4f}")
        console.print(summary)
        if metrics.get("note"):
            console.print(f"note: {metrics['note']}", style="yellow", highlight=False)
        return
    _add_figures(summary, metrics, ("accuracy", "macro_f1", "weighted_f1", "macro_precision",
                                    "macro_recall", "weighted_precision", "weighted_recall",
                                    "ece"))
    console.print(summary)

    per_class = _table("per class", ("label", "precision", "recall", "f1", "support"))
    for name, row in metrics["per_class"].items():
        per_class.add_row(name, f"{row['precision']:.4f}", f"{row['recall']:.4f}",
                          f"{row['f1']:.4f}", str(row["support"]))
    console.print(per_class)

    labels = metrics["labels"]
    matrix = Table(title="confusion matrix (rows: gold, columns: predicted)")
    matrix.add_column("gold \\ pred")
    for name in labels:
        matrix.add_column(name, justify="right")
    for name, row in zip(labels, metrics["confusion_matrix"], strict=True):
        matrix.add_row(name, *[str(v) for v in row])
    console.print(matrix)

    if metrics.get("reliability"):
        reliability = Table(title=f"reliability (ECE {metrics['ece']:.4f})")
        for column in ("confidence bin", "n", "accuracy", "mean confidence"):
            reliability.add_column(column, justify="right")
        for row in metrics["reliability"]:
            lo, hi = row["bin"]
            reliability.add_row(f"{lo:.1f}–{hi:.1f}", str(row["n"]), f"{row['accuracy']:.3f}",
                                f"{row['confidence']:.3f}")
        console.print(reliability)
    if metrics.get("note"):
        console.print(f"note: {metrics['note']}", style="yellow", highlight=False)


def print_multi_label_metrics(console: Console, metrics: dict[str, Any]) -> None:
    """Multi-label: micro/macro figures, subset accuracy, Hamming loss, then per label P/R/F1,
    support, its decision threshold and its ECE."""
    summary = Table(title=f"{metrics['n']} rows ({metrics['rows_without_label']} without a "
                          "label)", show_header=False)
    _add_figures(summary, metrics, ("micro_f1", "macro_f1", "weighted_f1", "micro_precision",
                                    "micro_recall", "subset_accuracy", "hamming_loss", "ece"))
    console.print(summary)
    per_label = _table("per label", ("label", "precision", "recall", "f1", "support",
                                     "threshold", "ece"))
    thresholds = metrics.get("thresholds", {})
    for name, row in metrics["per_label"].items():
        per_label.add_row(name, f"{row['precision']:.4f}", f"{row['recall']:.4f}",
                          f"{row['f1']:.4f}", str(row["support"]),
                          f"{thresholds[name]:.3f}" if name in thresholds else "",
                          f"{row['ece']:.4f}" if "ece" in row else "")
    console.print(per_label)
    if metrics.get("note"):
        console.print(f"note: {metrics['note']}", style="yellow", highlight=False)


def print_cv(console: Console, report: dict[str, Any]) -> None:
    """One row per fold, then mean ± sd."""
    keys = [k for k in ("micro_f1", "macro_f1", "accuracy", "subset_accuracy", "weighted_f1",
                        "hamming_loss", "ece", "pearson", "spearman", "rmse", "mae",
                        "train_seconds")
            if k in report["summary"]]
    table = Table(title=f"{len(report['folds'])}-fold cross-validation, {report['n']} rows")
    table.add_column("fold", justify="right")
    for key in keys:
        table.add_column(key.replace("_", " "), justify="right")
    for fold in report["folds"]:
        table.add_row(str(fold["fold"]), *["–" if fold.get(k) is None else f"{fold[k]:.4f}"
                                           if k != "train_seconds" else f"{fold[k]:.0f}"
                                           for k in keys])
    summary = report["summary"]
    table.add_row("mean ± sd", *[f"{summary[k]['mean']:.4f} ± {summary[k]['sd']:.4f}"
                                 if k != "train_seconds" else f"{summary[k]['mean']:.0f}"
                                 for k in keys])
    console.print(table)


def _add_figures(summary: Table, metrics: dict[str, Any], keys: tuple[str, ...]) -> None:
    """One row per figure of ``keys`` that ``metrics`` has, four decimals."""
    for key in keys:
        if key in metrics:
            summary.add_row(key.replace("_", " "), f"{metrics[key]:.4f}")


def _table(title: str, columns: tuple[str, ...]) -> Table:
    """A per-label table: the first column left-aligned, the figures right-aligned."""
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table
