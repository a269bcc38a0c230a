"""Accuracy on JRTE pn: train on `train`, report `dev` (the corpus' test rows are held out).

    python benchmarks/accuracy.py [--recipes default,tfidf,notebook] [--seeds 42]

Prints a Markdown table and, with --record, appends it to benchmarks/RESULTS.md. Reads the
data from ../shared/data (CC BY-NC-SA 4.0: never copied into the project).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from results import append  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

import kanjo  # noqa: E402
from kanjo.data import LabelSet, read_table  # noqa: E402
from kanjo.evaluation import classification_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PN = ROOT.parent / "shared" / "data" / "jrte-pn" / "pn.train-dev.tsv"
RECIPES: dict[str, dict] = {
    "tfidf": {"model": "tfidf"},
    "notebook": {"freeze_encoder": True, "epochs": 1, "warmup": 500, "min_steps": 0,
                 "early_stopping": 0, "freeze_embeddings": False},
    "default": {},
    "soft-labels": {"soft_labels": True},
    "unfrozen-embeddings": {"freeze_embeddings": False},
    "layer-decay-0.85-lr2e-4": {"layer_decay": 0.85, "lr": 2e-4},
    "label-smoothing-0.1": {"label_smoothing": 0.1},
    "class-weight-balanced": {"class_weight": "balanced"},
    "epochs-6": {"epochs": 6},
    "lr-5e-5-epochs-6": {"lr": 5e-5, "epochs": 6},
}


def majority(table_train, table_dev) -> dict:
    labels = LabelSet.infer(table_train)
    top = Counter(labels.encode(table_train).tolist()).most_common(1)[0][0]
    y = labels.encode(table_dev)
    return classification_metrics(y, [top] * len(y), labels.names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipes", default="tfidf,notebook,default")
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--keep", type=Path,
                        help="keep each trained model in this directory (e.g. for speed.py)")
    args = parser.parse_args()
    table = read_table(PN)
    rows = [("majority class", "-", majority(table.where_split("train"),
                                                table.where_split("dev")), 0.0)]
    for name in args.recipes.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.time()
                out = (args.keep / f"{name}.seed{seed}") if args.keep else Path(tmp) / "m"
                clf = kanjo.train(PN, out, seed=seed, overwrite=True, **RECIPES[name])
                seconds = clf.meta["timings"]["train_seconds"] or time.time() - started
                rows.append((name, str(seed), clf.meta["dev_metrics"], seconds))
                print(name, seed, clf.meta["dev_metrics"]["macro_f1"], flush=True)
    lines = [f"### train → dev, {time.strftime('%Y-%m-%d')}, kanjo {kanjo.__version__}, "
             f"{platform.machine()} {os.cpu_count()} cores", "",
             "| recipe | seed | dev macro-F1 | dev accuracy | weighted-F1 | train s |",
             "|---|---|---|---|---|---|"]
    for name, seed, m, seconds in rows:
        lines.append(f"| {name} | {seed} | {m['macro_f1']:.4f} | {m['accuracy']:.4f} | "
                     f"{m['weighted_f1']:.4f} | {seconds:.0f} |")
    by_recipe: dict[str, list[float]] = {}
    for name, _, m, _ in rows[1:]:
        by_recipe.setdefault(name, []).append(m["macro_f1"])
    for name, scores in by_recipe.items():
        if len(scores) > 1:
            lines.append(f"| {name} (mean ± sd) | {len(scores)} seeds | "
                         f"{statistics.mean(scores):.4f} ± {statistics.stdev(scores):.4f} | | | |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        append(text)


if __name__ == "__main__":
    main()
