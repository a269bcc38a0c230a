"""The report's figures as inline SVG (matplotlib, no pyplot state).

Text stays text in the SVG (``svg.fonttype: none``), so the browser draws label names with the
page's fonts and Japanese renders wherever the page does; each figure gets its own id salt, so
several figures can share one HTML document.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

FONTS = ["Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", "Meiryo",
         "DejaVu Sans", "sans-serif"]
COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04",
           "#db2777"]


def _svg(fig: Any, name: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE: inline in HTML
    return re.sub(r"<svg ", f'<svg role="img" aria-label="{name}" class="figure" ', svg,
                  count=1)


def _figure(name: str, size: tuple[float, float], ncols: int = 1) -> tuple[Any, Any]:
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": name,
                                "font.family": "sans-serif", "font.sans-serif": FONTS,
                                "font.size": 10})
    fig = Figure(figsize=size)
    return fig, fig.subplots(1, ncols)


def reliability_diagram(table: Sequence[dict[str, Any]], ece: float, bins: int = 10) -> str:
    """Accuracy against confidence per bin of the top-class probability (``table`` as made by
    :func:`kanjo.evaluation.calibration.calibration`), the diagonal of perfect calibration, and
    each bin's share of rows; ECE in the title."""
    fig, ax = _figure("reliability", (5, 4.2))
    width = 1.0 / bins
    lows = [row["bin"][0] for row in table]
    ax.bar(lows, [row["accuracy"] for row in table], width=width, align="edge",
           color="#93c5fd", edgecolor="#1d4ed8", label="accuracy")
    ax.plot([row["confidence"] for row in table], [row["accuracy"] for row in table], "o",
            color="#1d4ed8", markersize=4, label="mean confidence")
    ax.plot([0, 1], [0, 1], "--", color="#6b7280", label="perfect calibration")
    total = sum(row["n"] for row in table) or 1
    for row in table:
        ax.text(row["bin"][0] + width / 2, 0.02, f"{row['n'] / total:.0%}", ha="center",
                fontsize=7, color="#374151")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-class probability)",
           ylabel="accuracy", title=f"reliability · ECE = {ece:.4f}")
    ax.legend(loc="upper left", fontsize=8)
    return _svg(fig, "reliability diagram")


def pr_curves(y_true: np.ndarray, proba: np.ndarray, labels: Sequence[str]) -> str:
    """One-vs-rest precision-recall curve per class, average precision in the legend."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = _figure("pr-curves", (5, 4.2))
    for c, name in enumerate(labels):
        positive = np.asarray(y_true) == c
        if not positive.any():
            continue
        precision, recall, _ = precision_recall_curve(positive, proba[:, c])
        ap = average_precision_score(positive, proba[:, c])
        ax.plot(recall, precision, color=COLOURS[c % len(COLOURS)], drawstyle="steps-post",
                label=f"{name} (AP {ap:.3f})")
    ax.set(xlim=(0, 1.01), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
           title="precision-recall per class")
    ax.legend(loc="lower left", fontsize=8)
    return _svg(fig, "precision-recall curves")


def training_curves(series: dict[str, list[tuple[int, float]]]) -> str:
    """Training and dev loss (left) and the dev metrics (right) against the step."""
    fig, (left, right) = _figure("training", (9, 3.6), ncols=2)
    for tag, colour in (("train/loss", "#2563eb"), ("eval/loss", "#dc2626")):
        if series.get(tag):
            steps, values = zip(*series[tag], strict=True)
            left.plot(steps, values, color=colour, label=tag.replace("eval", "dev"),
                      marker="o" if tag.startswith("eval") else None, markersize=3)
    left.set(xlabel="step", ylabel="loss", title="loss")
    left.legend(fontsize=8)
    for i, tag in enumerate(t for t in ("eval/macro_f1", "eval/accuracy") if series.get(t)):
        steps, values = zip(*series[tag], strict=True)
        right.plot(steps, values, color=COLOURS[i], marker="o", markersize=3,
                   label=tag.replace("eval/", "dev "))
    right.set(xlabel="step", ylabel="score", title="dev metrics")
    right.legend(fontsize=8)
    return _svg(fig, "training curves")
