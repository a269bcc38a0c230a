"""Tune the TF-IDF baseline's defaults on JRTE ``pn`` (sentiment: -1/0/1).

5-fold stratified CV (macro-F1) on the ``train`` rows only, then train→dev for the chosen
setting. The data (CC BY-NC-SA) is read in place and never copied into the project.

    python benchmarks/tfidf_tune.py [--data PATH] [--stage 1|2|default|dev|all]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from kanjo.models.tfidf import TfidfClassifier

DATA = Path("/work/shared/data/jrte-pn/pn.train-dev.tsv")
LABELS = (-1, 0, 1)


def read(path: Path) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Split name -> (texts, label ids, judge-vote distributions)."""
    out: dict[str, tuple[list[str], list[int], list[list[float]]]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            _id, label, text, judges, usage = row
            votes = json.loads(judges)
            dist = [float(votes.get(str(lab), 0)) for lab in LABELS]
            texts, ys, soft = out.setdefault(usage, ([], [], []))
            texts.append(text)
            ys.append(LABELS.index(int(label)))
            soft.append([v / sum(dist) for v in dist])
    return {k: (t, np.array(y), np.array(s)) for k, (t, y, s) in out.items()}


def cv(texts: list[str], y: np.ndarray, params: dict, folds: int = 5) -> tuple[float, float, float]:
    """Mean and std of macro-F1, and mean fit seconds, over stratified folds."""
    scores, secs = [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for tr, te in splitter.split(texts, y):
        model = TfidfClassifier(**params)
        start = time.perf_counter()
        model.fit([texts[i] for i in tr], y[tr])
        secs.append(time.perf_counter() - start)
        pred = model.predict([texts[i] for i in te])
        scores.append(f1_score(y[te], pred, average="macro"))
    return float(np.mean(scores)), float(np.std(scores)), float(np.mean(secs))


def run_grid(texts: list[str], y: np.ndarray, grid: list[dict]) -> list[tuple[float, dict]]:
    results = []
    for params in grid:
        f1, std, secs = cv(texts, y, params)
        results.append((f1, params))
        print(f"cv macro-F1 {f1:.4f} ±{std:.4f}  fit {secs:5.2f}s  {params}", flush=True)
    results.sort(key=lambda r: -r[0])
    print("best:", results[0], flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--stage", default="all")
    args = ap.parse_args()
    splits = read(args.data)
    texts, y, _ = splits["train"]
    Cs = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    if args.stage in ("1", "all"):
        grid = [
            {"C": c, "ngram_range": ng}
            for ng, c in itertools.product([(1, 2), (1, 3), (1, 4), (2, 4)], Cs)
        ]
        run_grid(texts, y, grid)
    if args.stage in ("2", "all"):
        grid = [
            {"C": c, "ngram_range": (1, 3), "min_df": md, "sublinear_tf": sl, "class_weight": cw}
            for c, md, sl, cw in itertools.product(
                [2.0, 4.0, 8.0], [1, 2], [True, False], ["balanced", None]
            )
        ]
        run_grid(texts, y, grid)
    if args.stage in ("default", "dev", "all"):
        run_grid(texts, y, [{}])
    if args.stage in ("dev", "all"):
        dev_texts, dev_y, _ = splits["dev"]
        _, _, soft = splits["train"]
        for name, params, kw in [
            ("default", {}, {}),
            ("default+judge soft targets", {}, {"soft_targets": soft}),
        ]:
            model = TfidfClassifier(**params)
            start = time.perf_counter()
            model.fit(texts, y, **kw)
            secs = time.perf_counter() - start
            start = time.perf_counter()
            pred = model.predict(dev_texts)
            pred_secs = time.perf_counter() - start
            print(
                f"train→dev {name}: macro-F1 {f1_score(dev_y, pred, average='macro'):.4f} "
                f"acc {accuracy_score(dev_y, pred):.4f} fit {secs:.2f}s "
                f"predict({len(dev_texts)}) {pred_secs:.2f}s "
                f"vocab {len(model.vocabulary_)} params {model.get_params()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
