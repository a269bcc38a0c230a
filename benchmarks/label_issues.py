"""Do `kanjo label-issues` flags mean something? On JRTE pn train+dev: how many rows are
flagged, and how often a flagged row's annotators disagreed (split votes in the ``judges``
column) against the base rate of split votes — a check against judgements the model never
used as such (it trains on the labels, or on the vote shares with soft labels).

Confident learning (cleanlab, Northcutt et al. 2021) on 5-fold out-of-fold probabilities. The
data is read in place and never copied into the project.

    python benchmarks/label_issues.py [--model tfidf] [--folds 5] [--soft-labels yes|no]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import numpy as np

import kanjo
from kanjo.config import TrainConfig
from kanjo.data import read_table
from kanjo.evaluation.label_issues import find_label_issues
from kanjo.training.cross_validation import cross_validate

DATA = Path("/work/shared/data/jrte-pn/pn.train-dev.tsv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tfidf")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--soft-labels", choices=["yes", "no"], default="no",
                        help="train on the vote shares (then the flags are not independent "
                             "of the votes they are checked against) [no]")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    config = TrainConfig(model=args.model, soft_labels=args.soft_labels == "yes")
    started = time.perf_counter()
    report = cross_validate(args.data, config, args.folds)
    issues = find_label_issues(report["y"], np.array(report["oof_proba"]))
    seconds = time.perf_counter() - started
    table = read_table(args.data)
    votes = [table.soft[row] for row in report["rows"]]
    split = np.array([max(v.values()) < sum(v.values()) for v in votes])
    flagged = np.array([i.index for i in issues], dtype=int)
    names = report["labels"]
    # the suggested label got at least one annotator's vote
    backed = np.array([votes[i.index].get(names[i.suggested], 0) > 0 for i in issues])
    top = flagged[:100]
    n = len(split)
    summary = {
        "rows": n, "flagged": len(flagged), "split_base_rate": float(split.mean()),
        "split_flagged": float(split[flagged].mean()) if len(flagged) else float("nan"),
        "split_top100": float(split[top].mean()) if len(top) else float("nan"),
        "suggested_backed": float(backed.mean()) if len(backed) else float("nan"),
        "macro_f1": report["summary"]["macro_f1"]["mean"], "seconds": seconds,
    }
    print(summary)
    today = datetime.date.today().isoformat()
    print(f"\n#### label-issues on JRTE pn train+dev, {today}, kanjo {kanjo.__version__}, "
          f"{platform.machine()} {len(os.sched_getaffinity(0))} cores (load average {load:.1f} at "
          "the start: the machine was shared)\n")
    print("| model | folds | soft labels | rows | flagged | split votes: all rows | flagged "
          "| 100 most suspicious | suggested label had a vote | OOF macro-F1 | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.model} | {args.folds} | {args.soft_labels} | {n} | {len(flagged)} "
          f"({len(flagged) / n:.1%}) | {summary['split_base_rate']:.1%} | "
          f"{summary['split_flagged']:.1%} | {summary['split_top100']:.1%} | "
          f"{summary['suggested_backed']:.1%} | {summary['macro_f1']:.4f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
