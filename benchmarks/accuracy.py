"""Accuracy on JRTE pn (the corpus' test rows are held out from this project).

    python benchmarks/accuracy.py [--recipes default,tfidf,notebook] [--seeds 42]
    python benchmarks/accuracy.py --cv 5 [--recipes default,soft-labels,...]
    python benchmarks/accuracy.py --binary [--recipes default,tfidf]

The first form trains on `train` and reports `dev`, storing each recipe and seed's result under
benchmarks/.runs/dev and tabulating every stored one. The second runs stratified k-fold
cross-validation over all 5,000 `train`+`dev` rows (`kanjo cv`: each fold selects its checkpoint
and temperature on its own inner dev split), stores each recipe's report with its out-of-fold
probabilities under benchmarks/.runs/cv (an interrupted run resumes; recipes can run in parallel
processes), and tabulates every stored recipe: mean ± sd over folds, the paired per-fold
difference from the hard-label recipe (the options are single changes of it), and an
ensemble with the TF-IDF model's out-of-fold probabilities. The third is the first on a binary
task derived from pn (positive or not, in the corpus' rhr layout), to check that the defaults
generalise beyond three-way sentiment. A self-training recipe (one with a `teacher`) first trains
the teacher recipe at the same seed (kept under .runs/dev/teachers), labels the unlabelled
in-domain sentences with it (`kanjo predict`), trains the student with `--pseudo-labels`, and
reports the student beside its own teacher (train → dev only: in cross-validation the teacher
would have seen the held-out folds). Prints a Markdown table and, with --record, appends it to
benchmarks/RESULTS.md. Reads the data from ../shared/data (CC BY-NC-SA 4.0: never copied into
the project).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from results import append, stored_or_run  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

import kanjo  # noqa: E402
from kanjo.cli import main as main_cli  # noqa: E402
from kanjo.config import TrainConfig  # noqa: E402
from kanjo.data import LabelSet, read_table  # noqa: E402
from kanjo.evaluation.metrics import classification_metrics  # noqa: E402
from kanjo.training.cross_validation import cross_validate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PN = ROOT.parent / "shared" / "data" / "jrte-pn" / "pn.train-dev.tsv"
UNLABELLED = ROOT.parent / "shared" / "data" / "jrte-unlabeled" / "sentences.txt"
CV_RUNS = ROOT / "benchmarks" / ".runs" / "cv"
DEV_RUNS = ROOT / "benchmarks" / ".runs" / "dev"
TFIDF_WEIGHT = 0.2  # the ensemble weight chosen on inner splits of train (recipe_search.py)
HARD = {"soft_labels": False}  # the options are single changes to the hard-label recipe
BASELINE = "hard-labels"  # what the Δ column compares with
FOLD_SEED = 42  # the same folds for every recipe, whatever its training seed
RECIPES: dict[str, dict] = {
    "tfidf": {"model": "tfidf"},
    "tfidf-hard-labels": {"model": "tfidf", **HARD},
    "notebook": {"freeze_encoder": True, "epochs": 1, "warmup": 500, "min_steps": 0,
                 "early_stopping": 0, "freeze_embeddings": False, **HARD},
    "default": {},
    "hard-labels": HARD,
    "soft-labels": {"soft_labels": True},
    "soft-labels-layer-decay-0.85-lr2e-4": {"soft_labels": True, "layer_decay": 0.85,
                                            "lr": 2e-4},
    "unfrozen-embeddings": {"freeze_embeddings": False, **HARD},
    "layer-decay-0.85-lr2e-4": {"layer_decay": 0.85, "lr": 2e-4, **HARD},
    "label-smoothing-0.1": {"label_smoothing": 0.1, **HARD},
    "class-weight-balanced": {"class_weight": "balanced", **HARD},
    "epochs-6": {"epochs": 6, **HARD},
    "lr-5e-5-epochs-6": {"lr": 5e-5, "epochs": 6, **HARD},
    "rdrop-1": {"rdrop": 1.0, **HARD},
    "average-3": {"average_checkpoints": 3, **HARD},
    # self-training (train → dev only): the teacher recipe's model at the same seed labels the
    # unlabelled in-domain sentences; the student trains on train + a sample of them
    "self-training-12k": {"teacher": "default", "pseudo_rows": 12000, "epochs": 2},
}
# the same recipes at training seed 1 (same folds): the seed spread, and two-seed comparisons
RECIPES.update({f"{r}-seed1": {**RECIPES[r], "seed": 1}
                for r in ("hard-labels", "soft-labels", "soft-labels-layer-decay-0.85-lr2e-4")})


def majority(table_train, table_dev) -> dict:
    labels = LabelSet.infer(table_train)
    top = Counter(labels.encode(table_train).tolist()).most_common(1)[0][0]
    y = labels.encode(table_dev)
    return classification_metrics(y, [top] * len(y), labels.names)


def cv_report(recipe: str, folds: int, stored_only: bool = False) -> dict | None:
    """The stored k-fold report of a recipe, or run it and store it."""
    return stored_or_run(CV_RUNS / f"{recipe}.{folds}fold.json",
                         lambda: cross_validate(PN, TrainConfig(**RECIPES[recipe]), folds,
                                                FOLD_SEED),
                         stored_only)


def fold_scores(report: dict, proba: np.ndarray | None = None) -> list[float]:
    """Per-fold macro-F1 of out-of-fold probabilities (the report's own by default)."""
    y, fold = np.asarray(report["y"]), np.asarray(report["fold"])
    p = np.asarray(report["oof_proba"]) if proba is None else proba
    return [classification_metrics(y[fold == k], p[fold == k].argmax(axis=1),
                                   report["labels"])["macro_f1"] for k in sorted(set(fold))]


def majority_folds(report: dict) -> list[float]:
    """Per-fold macro-F1 of predicting each fold's training-majority class."""
    y, fold = np.asarray(report["y"]), np.asarray(report["fold"])
    proba = np.zeros((len(y), len(report["labels"])))
    for k in set(fold):
        proba[fold == k, np.bincount(y[fold != k]).argmax()] = 1.0
    return fold_scores(report, proba)


def cv_table(recipes: list[str], folds: int, stored_only: bool) -> str:
    """Run (or read) each recipe's cross-validation and tabulate every stored one."""
    for recipe in recipes:
        if cv_report(recipe, folds, stored_only) is not None:
            print(recipe, "done", flush=True)
    reports = {r: cv_report(r, folds, True) for r in RECIPES}
    reports = {r: rep for r, rep in reports.items() if rep is not None}
    scores = {r: fold_scores(rep) for r, rep in reports.items()}
    tfidf = np.asarray(reports["tfidf"]["oof_proba"]) if "tfidf" in reports else None

    def ms(values: list[float]) -> str:
        return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"

    def delta(values: list[float], base: str) -> str:
        """Paired per-fold difference from ``base`` (a recipe, or its two-seed figures)."""
        if base not in scores:
            return ""
        return ms(list(np.subtract(values, scores[base])))

    lines = [f"### {folds}-fold cross-validation over train+dev, {time.strftime('%Y-%m-%d')}, "
             f"kanjo {kanjo.__version__}, {platform.machine()} {os.cpu_count()} cores", "",
             f"Mean ± sd over the folds (fold seed {FOLD_SEED}: the same folds for every "
             f"recipe; `-seed1`: training seed 1 instead of 42). Δ: the per-fold paired "
             f"difference in macro-F1 from `{BASELINE}` at the same training seed(s). +tfidf: "
             f"out-of-fold probabilities averaged with the TF-IDF model's at weight "
             f"{TFIDF_WEIGHT}. Two seeds: the per-fold mean of both seeds' scores, and the "
             "ensemble of their averaged probabilities.", "",
             "| recipe | macro-F1 | Δ | accuracy | weighted-F1 | ECE | +tfidf macro-F1 "
             "| train s / fold |", "|---|---|---|---|---|---|---|---|"]
    if reports:
        any_report = next(iter(reports.values()))
        lines.append(f"| majority class | {ms(majority_folds(any_report))} | | | | | | – |")
    for recipe, report in reports.items():
        summary = report["summary"]
        base = f"{BASELINE}-seed1" if recipe.endswith("-seed1") else BASELINE
        mixed = ""
        if tfidf is not None and recipe != "tfidf":
            p = (1 - TFIDF_WEIGHT) * np.asarray(report["oof_proba"]) + TFIDF_WEIGHT * tfidf
            mixed = ms(fold_scores(report, p))
        cells = [ms(scores[recipe]), "" if recipe == base else delta(scores[recipe], base)] + [
            f"{summary[k]['mean']:.4f} ± {summary[k]['sd']:.4f}" if k in summary else ""
            for k in ("accuracy", "weighted_f1", "ece")]
        lines.append(f"| {recipe} | " + " | ".join(cells) +
                     f" | {mixed} | {summary['train_seconds']['mean']:.0f} |")
    for recipe in [r for r in reports if f"{r}-seed1" in reports]:  # the baseline comes first
        pair = (recipe, f"{recipe}-seed1")
        scores[f"{recipe} ×2"] = list(np.mean([scores[r] for r in pair], axis=0))
        scores[f"{recipe} ens"] = fold_scores(reports[recipe], np.mean(
            [np.asarray(reports[r]["oof_proba"]) for r in pair], axis=0))
        for key, name in (("×2", "mean of seeds 42 and 1"), ("ens", "ensemble of seeds 42, 1")):
            values = scores[f"{recipe} {key}"]
            shown = "" if recipe == BASELINE else delta(values, f"{BASELINE} {key}")
            lines.append(f"| {recipe}, {name} | {ms(values)} | {shown} | | | | | |")
    return "\n".join(lines) + "\n"


def binary_task() -> Path:
    """A binary JRTE task built from pn, for checking that the defaults generalise: is the
    sentence positive? (labels 1 / 0, the annotators' votes for negative and neutral pooled),
    with rhr ids so kanjo reads it as the corpus' binary format. Written under .runs (derived
    from the CC BY-NC-SA data: never committed)."""
    path = ROOT / "benchmarks" / ".runs" / "pn-binary.tsv"
    if not path.exists():
        lines = []
        for i, line in enumerate(PN.read_text(encoding="utf-8").splitlines()):
            _, label, text, judges, usage = line.split("\t")
            votes = json.loads(judges)
            pooled = {"1": votes.get("1", 0), "0": votes.get("0", 0) + votes.get("-1", 0)}
            pooled = {k: v for k, v in pooled.items() if v}
            lines.append(f"rhr{i:08d}\t{int(label == '1')}\t{text}\t{json.dumps(pooled)}"
                         f"\t{usage}\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
    return path


def dev_run(data: Path, runs: Path, recipe: str, seed: int, keep: Path | None,
            stored_only: bool) -> dict | None:
    """The stored train → dev result of a recipe and seed, or train it and store it."""

    def run() -> dict:
        options, extra = dict(RECIPES[recipe]), {}
        if "teacher" in options:
            options["pseudo_labels"], extra = pseudo_labels(data, runs, options.pop("teacher"),
                                                            seed)
        with tempfile.TemporaryDirectory() as tmp:
            out = (keep / f"{recipe}.seed{seed}") if keep else Path(tmp) / "m"
            clf = kanjo.train(data, out, seed=seed, overwrite=True, **options)
        return {"recipe": recipe, "seed": seed, "metrics": clf.meta["dev_metrics"],
                "seconds": clf.meta["timings"]["train_seconds"], **extra}

    return stored_or_run(runs / f"{recipe}.seed{seed}.json", run, stored_only)


def pseudo_labels(data: Path, runs: Path, teacher: str, seed: int) -> tuple[str, dict]:
    """The unlabelled sentences as labelled by the teacher recipe's train → dev model at
    ``seed`` (`kanjo predict` JSONL), and that teacher's own dev result, to pair with the
    student's: both kept under ``runs``."""
    model = runs / "teachers" / f"{teacher}.seed{seed}"
    path = runs / "pseudo" / f"{teacher}.seed{seed}.jsonl"
    if not (model / "kanjo.json").exists():
        kanjo.train(data, model, seed=seed, overwrite=True, **RECIPES[teacher])
    if not path.exists():
        started = time.time()
        path.parent.mkdir(parents=True, exist_ok=True)
        main_cli(["predict", str(model), "--input", str(UNLABELLED), "--output",
                  str(path.with_suffix(".partial"))])
        path.with_suffix(".partial").rename(path)
        print(f"labelled {UNLABELLED.name} in {time.time() - started:.0f} s", flush=True)
    meta = json.loads((model / "kanjo.json").read_text())
    return str(path), {"teacher": {"recipe": teacher, "metrics": meta["dev_metrics"],
                                   "seconds": meta["timings"]["train_seconds"]}}


def dev_table(data: Path, runs: Path, recipes: list[str], seeds: list[int],
              keep: Path | None, stored_only: bool) -> str:
    """Run (or read) each recipe and seed train → dev, and tabulate every stored run."""
    for recipe in recipes:
        for seed in seeds:
            result = dev_run(data, runs, recipe, seed, keep, stored_only)
            if result is not None:
                print(recipe, seed, result["metrics"]["macro_f1"], flush=True)
    table = read_table(data)
    lines = [f"### {data.name}: train → dev, {time.strftime('%Y-%m-%d')}, "
             f"kanjo {kanjo.__version__}, {platform.machine()} {os.cpu_count()} cores", "",
             "| recipe | seed | dev macro-F1 | dev accuracy | weighted-F1 | ECE | train s |",
             "|---|---|---|---|---|---|---|"]
    m = majority(table.where_split("train"), table.where_split("dev"))
    lines.append(f"| majority class | – | {m['macro_f1']:.4f} | {m['accuracy']:.4f} | "
                 f"{m['weighted_f1']:.4f} | | – |")
    for recipe in RECIPES:
        stored = sorted((json.loads(p.read_text()) for p in runs.glob(f"{recipe}.seed*.json")),
                        key=lambda r: r["seed"])
        for r in stored:
            m = r["metrics"]
            ece = f"{m['ece']:.4f}" if "ece" in m else ""
            lines.append(f"| {recipe} | {r['seed']} | {m['macro_f1']:.4f} | {m['accuracy']:.4f} "
                         f"| {m['weighted_f1']:.4f} | {ece} | {r['seconds']:.0f} |")
        for r in (r for r in stored if "teacher" in r):
            m, t = r["metrics"], r["teacher"]["metrics"]
            gain = m["macro_f1"] - t["macro_f1"]
            lines.append(f"| {recipe} Δ vs its teacher ({r['teacher']['recipe']}, "
                         f"{t['macro_f1']:.4f}) | {r['seed']} | {gain:+.4f} "
                         f"| {m['accuracy'] - t['accuracy']:+.4f} | | | |")
        if len(stored) > 1:
            scores = [r["metrics"]["macro_f1"] for r in stored]
            lines.append(f"| {recipe} (mean ± sd) | {len(stored)} seeds | "
                         f"{statistics.mean(scores):.4f} ± {statistics.stdev(scores):.4f} "
                         "| | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipes", default="tfidf,notebook,default")
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--cv", type=int, metavar="K",
                        help="K-fold cross-validation over train+dev instead of train → dev")
    parser.add_argument("--binary", action="store_true",
                        help="train → dev on a binary task built from pn (positive or not)")
    parser.add_argument("--stored-only", action="store_true",
                        help="tabulate the stored runs only; train nothing")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--keep", type=Path,
                        help="keep each trained model in this directory (e.g. for speed.py)")
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    if args.cv:
        text = cv_table(recipes, args.cv, args.stored_only)
    else:
        data, runs = (binary_task(), DEV_RUNS / "binary") if args.binary else (PN, DEV_RUNS)
        text = dev_table(data, runs, recipes, [int(x) for x in args.seeds.split(",")],
                         args.keep, args.stored_only)
    print(text)
    if args.record:
        append(text)


if __name__ == "__main__":
    main()
