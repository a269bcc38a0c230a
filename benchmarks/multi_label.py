"""Multi-label (`--task multi-label`) on the shipped sample examples/hotel_tags.csv: 92 hotel-review
sentences written for kanjo, tagged with any of 部屋, 食事, 接客, 立地, 温泉 (15 rows with no tag).

`kanjo cv` with iterative-stratified folds; each fold trains exactly as `kanjo train` does
(its inner dev split chooses the per-label thresholds) and is scored at its own thresholds on
the fold it never saw. Figures: micro/macro F1, subset accuracy, Hamming loss, mean per-label
ECE, mean ± sd over the folds. Recipes: the TF-IDF baseline (one-vs-rest logistic regression),
the default encoder's embeddings recipe (frozen e5, one-vs-rest heads; what `recipe: auto`
picks below 500 rows) and, with `--finetune`, full fine-tuning (BCE).

    python benchmarks/multi_label.py [--folds 5] [--dev-split 0.25] [--finetune]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
from results import replace_section, stored_or_run  # noqa: E402  (benchmarks/ is on sys.path)
from sklearn.metrics import f1_score  # noqa: E402

import kanjo  # noqa: E402
from kanjo.config import TrainConfig  # noqa: E402
from kanjo.training.cross_validation import cross_validate  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "examples" / "hotel_tags.csv"
STORE = Path(__file__).resolve().parent / ".runs" / "multi_label"
KEYS = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "ece", "train_seconds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--dev-split", type=float, default=0.25)
    parser.add_argument("--finetune", action="store_true",
                        help="also fine-tune the default encoder in every fold (slow on a CPU)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    runs = [("tfidf", dict(model="tfidf")), ("default, embeddings", dict(recipe="embeddings"))]
    if args.finetune:
        runs.append(("default, finetune", dict(recipe="finetune")))
    rows = []
    for name, options in runs:
        config = TrainConfig(task="multi-label", label_sep=";", dev_split=args.dev_split,
                             **options)
        key = f"{name.replace(', ', '-')}-{args.folds}-{args.dev_split}.json"

        def run(config: TrainConfig = config) -> dict:
            started = time.perf_counter()
            report = cross_validate(DATA, config, args.folds)
            y, proba = np.array(report["y"]), np.array(report["oof_proba"])
            pooled = {  # every row out of fold: at the folds' thresholds, and at 0.5 for all
                "tuned": f1_score(y, np.array(report["oof_labels"]), average="micro"),
                "fixed": f1_score(y, proba >= 0.5, average="micro")}
            return {"summary": report["summary"], "pooled_micro_f1": pooled,
                    "seconds": time.perf_counter() - started}

        result = stored_or_run(STORE / key, run)
        summary = result["summary"]
        cells = " | ".join(f"{summary[k]['mean']:.3f} ± {summary[k]['sd']:.3f}"
                           for k in KEYS[:-1])
        pooled = result["pooled_micro_f1"]
        rows.append(f"| {name} | {cells} | {pooled['tuned']:.3f} | {pooled['fixed']:.3f} | "
                    f"{summary['train_seconds']['mean']:.0f} |")
        print(rows[-1], flush=True)
    today = datetime.date.today().isoformat()
    section = "\n".join([
        "## Multi-label (`benchmarks/multi_label.py`)",
        "",
        f"`python benchmarks/multi_label.py{' --finetune' if args.finetune else ''}`, {today}, "
        f"kanjo {kanjo.__version__}, {platform.machine()} {len(os.sched_getaffinity(0))} cores "
        f"(load average {load:.1f} at the start). examples/hotel_tags.csv (92 sentences "
        "written for kanjo, 5 tags, 15 rows without a tag), "
        f"{args.folds}-fold `kanjo cv --task multi-label` (iterative stratification over "
        f"distinct texts); each fold holds out {args.dev_split:g} of its rows as the dev set "
        "that chooses the per-label thresholds (a label with fewer than 5 dev positives keeps "
        "0.5), and is scored at those thresholds on its unseen fold. Mean ± sd over the folds; "
        "ECE is the mean of the per-label ECEs; pooled: micro-F1 over all out-of-fold rows at "
        "the folds' chosen thresholds and at 0.5 for every label; s: training seconds per fold.",
        "",
        "| model | micro-F1 | macro-F1 | subset accuracy | Hamming loss | ECE | pooled "
        "micro-F1, thresholds | pooled, 0.5 | s |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    replace_section(section)
    print(section)


if __name__ == "__main__":
    main()
