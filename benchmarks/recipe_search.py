"""Recipe selection on JRTE pn without touching the reported `dev` rows.

    python benchmarks/recipe_search.py [--recipes default,soft-labels,...] [--seeds 42,1]

For each seed, the 3,888 `train` rows are split (stratified, by that seed) into 80 % inner-train
and 20 % inner-dev; every recipe trains on inner-train, selects its checkpoint and temperature
on inner-dev, and is scored on inner-dev. The same inner-dev probabilities are also averaged
with the TF-IDF baseline's (weights 0.2–0.4) to measure an ensemble. The choice of defaults is
made from this table; `benchmarks/accuracy.py` then reports the chosen recipe train → dev.

Each finished run is stored under benchmarks/.runs/recipe_search (git-ignored), so an
interrupted search continues where it stopped. --record appends the table to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from accuracy import RECIPES as ACCURACY_RECIPES  # noqa: E402  (benchmarks/ is on sys.path)
from results import append, stored_or_run  # noqa: E402

import kanjo  # noqa: E402
from kanjo.evaluation.metrics import classification_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PN = ROOT.parent / "shared" / "data" / "jrte-pn" / "pn.train-dev.tsv"
RUNS = ROOT / "benchmarks" / ".runs" / "recipe_search"
RECIPES = {name: options for name, options in ACCURACY_RECIPES.items()
           if name not in ("notebook", "tfidf-hard-labels")}
ENSEMBLE_WEIGHTS = (0.2, 0.3, 0.4)


def inner_split(seed: int) -> tuple[Path, Path, np.ndarray]:
    """Write inner-train / inner-dev files (JRTE format, all rows marked train) for a seed."""
    from sklearn.model_selection import train_test_split

    lines = [line for line in PN.read_text(encoding="utf-8").splitlines()
             if line.rsplit("\t", 1)[-1] == "train"]
    labels = [line.split("\t")[1] for line in lines]
    tr, dv = train_test_split(np.arange(len(lines)), test_size=0.2, stratify=labels,
                              random_state=seed)
    folder = RUNS / f"split-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, idx in (("inner-train.tsv", tr), ("inner-dev.tsv", dv)):
        path = folder / name
        path.write_text("".join(lines[i] + "\n" for i in sorted(idx)), encoding="utf-8")
        paths.append(path)
    jrte_names = {"-1": "negative", "0": "neutral", "1": "positive"}
    return paths[0], paths[1], np.array([jrte_names[labels[i]] for i in sorted(dv)])


def run(recipe: str, seed: int, stored_only: bool = False) -> dict | None:
    """Train one recipe on one inner split (or read the stored result)."""

    def train() -> dict:
        train_file, dev_file, _ = inner_split(seed)
        out = RUNS / "models" / f"{recipe}.seed{seed}"
        shutil.rmtree(out.with_name(f".{out.name}.partial"), ignore_errors=True)  # killed earlier
        started = time.time()
        clf = kanjo.train(train_file, out, dev=str(dev_file), seed=seed, overwrite=True,
                          **RECIPES[recipe])
        seconds = clf.meta["timings"]["train_seconds"] or time.time() - started
        dev_texts = [line.split("\t")[2] for line in
                     dev_file.read_text(encoding="utf-8").splitlines()]
        proba = clf.predict_proba(dev_texts)
        if recipe != "tfidf":
            shutil.rmtree(out, ignore_errors=True)
        return {"recipe": recipe, "seed": seed, "seconds": seconds,
                "steps": clf.meta.get("train_steps"), "labels": list(clf.labels.names),
                "proba": np.asarray(proba).round(6).tolist()}

    return stored_or_run(RUNS / f"{recipe}.seed{seed}.json", train, stored_only)


def score(result: dict, y_names: np.ndarray, proba: np.ndarray | None = None) -> float:
    names = result["labels"]
    y = np.array([names.index(v) for v in y_names])
    p = np.asarray(result["proba"]) if proba is None else proba
    return classification_metrics(y, p.argmax(axis=1), names)["macro_f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--seeds", default="42,1")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--stored-only", action="store_true",
                        help="tabulate the stored runs only; train nothing")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = [r for r in args.recipes.split(",") if r != "tfidf"]
    table: dict[str, dict[str, list[float]]] = {}
    seconds: dict[str, list[float]] = {}
    for seed in seeds:  # every recipe on one split before the next seed
        _, _, y_dev = inner_split(seed)
        tfidf = run("tfidf", seed)
        table.setdefault("tfidf", {}).setdefault("alone", []).append(score(tfidf, y_dev))
        seconds.setdefault("tfidf", []).append(tfidf["seconds"])
        for recipe in recipes:
            result = run(recipe, seed, args.stored_only)
            if result is None:
                continue
            seconds.setdefault(recipe, []).append(result["seconds"])
            row = table.setdefault(recipe, {})
            row.setdefault("alone", []).append(score(result, y_dev))
            for w in ENSEMBLE_WEIGHTS:
                mixed = (1 - w) * np.asarray(result["proba"]) + w * np.asarray(tfidf["proba"])
                row.setdefault(f"+tfidf {w}", []).append(score(result, y_dev, mixed))
            print(recipe, seed, {k: round(v[-1], 4) for k, v in row.items()}, flush=True)
    columns = ["alone"] + [f"+tfidf {w}" for w in ENSEMBLE_WEIGHTS]
    lines = [f"### Recipe selection on inner splits of `train`, {time.strftime('%Y-%m-%d')}, "
             f"kanjo {kanjo.__version__}, {platform.machine()} {os.cpu_count()} cores", "",
             f"Inner-dev macro-F1, mean ± sd over seeds {args.seeds} (each seed its own "
             "stratified 80/20 split of the 3,888 train rows); `+tfidf w`: probabilities "
             "averaged with the TF-IDF model's at weight w.", "",
             "| recipe | " + " | ".join(columns) + " | train s |",
             "|---|" + "---|" * (len(columns) + 1)]

    def cell(values: list[float]) -> str:
        if len(values) > 1:
            return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"
        return f"{values[0]:.4f}"

    for recipe, row in table.items():
        cells = [cell(row[c]) if c in row else "" for c in columns]
        secs = f"{statistics.mean(seconds[recipe]):.0f}"
        lines.append(f"| {recipe} | " + " | ".join(cells) + f" | {secs} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        append(text)


if __name__ == "__main__":
    main()
