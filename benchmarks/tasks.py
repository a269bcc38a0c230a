"""Sentence-pair and regression tasks (issue #15): JSTS similarity and JNLI inference.

JSTS (``../shared/data/jglue``, train 12,451 pairs → valid 1,457 pairs, similarity 0–5): each
method is trained on JSTS train only (kanjo holds its own 10 % dev split out of it for
checkpoint selection) and scored on valid, which nothing is selected on. Methods
(``--methods``):

* ``zero-shot``  the default encoder untrained: cosine similarity of its mean-pooled, L2-normalised
                 e5 vectors (``query: `` prefix, :class:`kanjo.models.sentence_encoder.
                 SentenceEncoder`) — the floor to beat;
* ``embeddings-ridge``  the same frozen vectors u, v → ridge regression on [u ⊙ v, |u − v|,
                 cos] fitted on train (not a kanjo recipe: a measurement of what a head on the
                 untrained geometry reaches);
* ``tfidf``      ``kanjo train --model tfidf --task regression`` (character n-grams of each text,
                 their product and cosine, ridge regression);
* ``kanjo``      ``kanjo train --task regression`` with the defaults: on pairs the encoder
                 tuned as a bi-encoder (CoSENT, :mod:`kanjo.training.similarity_tuning`);
* ``jsts-finetune``  ``--recipe finetune``: the cross-encoder, a one-output head fine-tuned by
                 mean squared error (``--epochs E`` trains exactly E epochs, ``--min-steps 0``).

JNLI (valid, 2,434 pairs, 3 classes; its train file is not available): 5-fold cross-validation
(``kanjo cv``: stratified, pairs sharing a premise in one fold), accuracy and macro-F1, for
``jnli-tfidf``, ``jnli-kanjo`` (the defaults: ``recipe: auto``, which trains the embeddings
recipe below 3,000 pairs) and ``jnli-finetune`` (``--recipe finetune``).

Every result is a JSON file under ``benchmarks/.runs/tasks/`` (an interrupted run continues);
the table of the stored results is printed, and written to ``benchmarks/RESULTS.md`` with
``--record`` (which replaces that section: record only with every row's result stored).

    python benchmarks/tasks.py --methods zero-shot,tfidf,jnli-tfidf
    python benchmarks/tasks.py --methods kanjo --epochs 1
    python benchmarks/tasks.py --table --record
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JGLUE = ROOT.parent / "shared" / "data" / "jglue"
JSTS_TRAIN, JSTS_VALID = JGLUE / "jsts-train.jsonl", JGLUE / "jsts-valid.jsonl"
JNLI = JGLUE / "jnli-valid.jsonl"
RUNS = ROOT / "benchmarks" / ".runs" / "tasks"
METHODS = ("zero-shot", "embeddings-ridge", "tfidf", "kanjo", "jsts-finetune", "jnli-tfidf",
           "jnli-kanjo", "jnli-finetune")


def zero_shot() -> dict[str, Any]:
    """Cosine similarity of the untrained default encoder's sentence vectors on JSTS valid."""
    import numpy as np

    from kanjo.data import read_table
    from kanjo.evaluation.regression_metrics import regression_metrics
    from kanjo.models.resolve import resolve
    from kanjo.models.sentence_encoder import E5_PREFIX, SentenceEncoder
    from kanjo.training.prepare import normalized

    valid = normalized(read_table(JSTS_VALID))
    started = time.time()
    encoder = SentenceEncoder.load(resolve("default").location, prefix=E5_PREFIX, device="cpu")
    first, _ = encoder.embed(valid.texts)
    second, _ = encoder.embed(valid.text_pairs)
    cosine = (first * second).sum(axis=1)
    metrics = regression_metrics(encoder_targets(valid), cosine)
    return {"method": "zero-shot", "valid": metrics, "train_seconds": 0.0,
            "seconds": round(time.time() - started, 1), "rows": len(valid),
            "note": "cosine of mean-pooled vectors", "epochs": None,
            "cosine_range": [float(np.min(cosine)), float(np.max(cosine))]}


def embeddings_ridge() -> dict[str, Any]:
    """The frozen default encoder's vectors u, v of both texts → ridge regression on
    [u ⊙ v, |u − v|, cos(u, v)] (the sentence-pair features of Conneau et al. 2017, InferSent),
    trained on JSTS train, scored on valid: what a head on the untrained geometry reaches."""
    import numpy as np
    from sklearn.linear_model import RidgeCV

    from kanjo.data import read_table
    from kanjo.evaluation.regression_metrics import regression_metrics
    from kanjo.models.resolve import resolve
    from kanjo.models.sentence_encoder import E5_PREFIX, SentenceEncoder
    from kanjo.training.prepare import normalized

    encoder = SentenceEncoder.load(resolve("default").location, prefix=E5_PREFIX, device="cpu")

    def features(table: Any) -> Any:
        u, _ = encoder.embed(table.texts)
        v, _ = encoder.embed(table.text_pairs)
        return np.hstack([u * v, np.abs(u - v), (u * v).sum(axis=1, keepdims=True)])

    train, valid = normalized(read_table(JSTS_TRAIN)), normalized(read_table(JSTS_VALID))
    started = time.time()
    model = RidgeCV(alphas=np.logspace(-2, 3, 11)).fit(features(train), encoder_targets(train))
    seconds = time.time() - started
    metrics = regression_metrics(encoder_targets(valid), model.predict(features(valid)))
    return {"method": "embeddings-ridge", "valid": metrics, "train_seconds": round(seconds, 1),
            "seconds": round(time.time() - started, 1), "alpha": float(model.alpha_),
            "epochs": None}


def encoder_targets(table: Any) -> Any:
    from kanjo.data.regression import RegressionTarget

    return RegressionTarget().encode(table)


def jsts_train(method: str, epochs: float | None) -> dict[str, Any]:
    """``kanjo.train`` on JSTS train (its own dev split), scored on JSTS valid."""
    import kanjo

    model = "tfidf" if method == "tfidf" else "default"
    options: dict[str, Any] = {"model": model, "task": "regression"}
    if method == "jsts-finetune":
        options["recipe"] = "finetune"
    if epochs is not None:  # exactly these epochs: min_steps would raise a short run's
        options.update(epochs=epochs, min_steps=0)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        classifier = kanjo.train(JSTS_TRAIN, Path(tmp) / "model", **options)
        seconds = time.time() - started
        valid = classifier.evaluate(JSTS_VALID)
    tuning = classifier.meta.get("embeddings", {}).get("encoder_tuning") or {}
    schedule = classifier.meta.get("schedule") or tuning  # fine-tuning's, or the bi-encoder's
    return {"method": method, "valid": valid, "recipe": classifier.meta["recipe"],
            "encoder_tuning": tuning or None, "dev": classifier.meta.get("dev_metrics"),
            "train_seconds": classifier.meta["timings"]["train_seconds"],
            "seconds": round(seconds, 1), "epochs": schedule.get("epochs"),
            "steps": classifier.meta.get("train_steps") or tuning.get("steps"),
            "best_checkpoint": classifier.meta.get("best_checkpoint")}


def jnli_cv(method: str, epochs: float | None) -> dict[str, Any]:
    """5-fold cross-validation on JNLI valid."""
    from kanjo.config import TrainConfig
    from kanjo.training.cross_validation import cross_validate

    options: dict[str, Any] = {"model": "tfidf" if method == "jnli-tfidf" else "default"}
    if method == "jnli-finetune":
        options["recipe"] = "finetune"
    if epochs is not None:
        options["epochs"] = epochs
    started = time.time()
    report = cross_validate(JNLI, TrainConfig(**options), folds=5)
    return {"method": method, "summary": report["summary"],
            "seconds": round(time.time() - started, 1), "epochs": epochs,
            "folds": [{k: fold[k] for k in ("fold", "accuracy", "macro_f1", "ece")}
                      for fold in report["folds"]]}


def run(method: str, epochs: float | None) -> dict[str, Any]:
    if method == "zero-shot":
        return zero_shot()
    if method == "embeddings-ridge":
        return embeddings_ridge()
    if method in ("tfidf", "kanjo", "jsts-finetune"):
        return jsts_train(method, epochs)
    return jnli_cv(method, epochs)


def result_path(method: str, epochs: float | None) -> Path:
    suffix = f"-e{epochs:g}" if epochs is not None and method in (
        "kanjo", "jsts-finetune", "jnli-kanjo", "jnli-finetune") else ""
    return RUNS / f"{method}{suffix}.json"


def table() -> str:
    """The Markdown section of every stored result."""
    import json

    def fmt(value: Any) -> str:
        return "–" if value is None else f"{value:.4f}"

    jsts, jnli = [], []
    for path in sorted(RUNS.glob("*.json")):
        r = json.loads(path.read_text())
        if r["method"].startswith("jnli"):
            s = r["summary"]
            jnli.append(f"| {r['method']} | {r.get('epochs') or 'default'} | "
                        f"{s['accuracy']['mean']:.4f} ± {s['accuracy']['sd']:.4f} | "
                        f"{s['macro_f1']['mean']:.4f} ± {s['macro_f1']['sd']:.4f} | "
                        f"{r['seconds']:.0f} |")
        else:
            v = r["valid"]
            jsts.append(f"| {r['method']} | {r.get('epochs') or '–'} | {fmt(v['pearson'])} | "
                        f"{fmt(v['spearman'])} | {fmt(v['rmse'])} | {fmt(v['mae'])} | "
                        f"{r['train_seconds']:.0f} |")
    lines = [
        "## Sentence pairs and regression (benchmarks/tasks.py)",
        "",
        f"{platform.machine()}, {os.cpu_count()} CPU threads shared with other jobs. JSTS: "
        "trained on train (kanjo selects its checkpoint on a 10 % dev split of it), scored on "
        "valid. RMSE/MAE are in similarity points (0–5); zero-shot cosine is not on that scale, "
        "so only its correlations count.",
        "",
        "| JSTS method | epochs | Pearson | Spearman | RMSE | MAE | training s |",
        "|---|---|---|---|---|---|---|",
        *jsts,
    ]
    if jnli:
        lines += ["", "JNLI valid, 5-fold cross-validation (mean ± sd over folds):", "",
                  "| JNLI method | epochs | accuracy | macro-F1 | seconds |",
                  "|---|---|---|---|---|", *jnli]
    lines += ["", *NOTES]
    return "\n".join(lines) + "\n"


NOTES = (
    "Reading (2026-12-03): the defaults now train a pair regression as a bi-encoder (CoSENT, "
    "2 epochs of the 90 % of train kept after the dev split, 702 steps of 32 pairs, then "
    "a · cosine + b by least squares): valid Pearson 0.877 in 885 s of training on 2 quiet "
    "cores, inside the 20-minute budget, above the cross-encoder's 0.865 (about 30 min) and "
    "the floor's 0.833, and 0.023 short of the 0.90 target. An exploratory run of the same "
    "loss on all 12,451 train pairs scored 0.871 after one epoch and 0.878 after two; a ridge "
    "head on [u, v, |u−v|, u⊙v] of the tuned vectors (0.877) did not beat the cosine.",
    "Reading (2026-12-02 run): the issue's target, JSTS valid Pearson ≥ 0.90 from `kanjo "
    "train` defaults in ≤ 20 minutes on 2 CPU cores, is **not reached**. On these shared "
    "cores one optimisation step of 32 pairs took 12–20 s, so the default schedule (4 epochs, "
    "1,400 steps) would take about 6 hours; the run above is 0.5 epoch (175 steps, 47 min), "
    "and at that point the fine-tuned cross-encoder (a fresh one-output head on the default "
    "encoder, MSE loss) is still below the untrained encoder's cosine similarity, the floor. "
    "A ridge head on the frozen vectors (embeddings-ridge, 17 min, nearly all of it embedding "
    "the 24,902 train sentences; RidgeCV chose α = 0.01, the smallest of its grid) adds 0.01 "
    "Pearson to the floor and puts the values on the 0–5 scale. "
    "The full default schedule was measured later (valid Pearson 0.865 after about 30 min of "
    "quiet CPU); the bi-encoder was measured on 2026-12-03 (above).",
    "The defaults' 4-epoch run (2026-12-02, second session): 2 cores quiet for steps 1–1,114 "
    "(about 1.1 s per 32-pair step, 28 min) and shared with a test suite for the rest (up to "
    "7 s per step); dev Pearson by epoch 0.769, 0.831, 0.862, 0.868, the last checkpoint kept. "
    "On valid 0.865: above the floor (0.833) and the ridge head (0.843), 0.035 short of 0.90, "
    "and over the 20-minute budget even on quiet cores.",
    "JNLI, fine-tuned defaults (2026-12-02, third session, 2 quiet cores, 386 ± 80 s of training "
    "per fold): below TF-IDF on both measures. Every fold sat on the majority class (neutral, "
    "dev macro-F1 0.23–0.24) for its first one or two epochs; four left that plateau, and one "
    "was ended by early stopping at step 165 of 301 on it (every pair predicted neutral). Early "
    "stopping now counts only the second half of the schedule "
    "(`kanjo.training.early_stopping`).",
    "JNLI, the defaults since that session (`recipe: auto`: the embeddings recipe below 3,000 "
    "pairs, a calibrated head on [u, v, |u−v|, u⊙v] of the frozen vectors): macro-F1 above "
    "TF-IDF's by 0.031 and the fine-tuned recipe's by 0.19, accuracy 0.019 below TF-IDF's, "
    "41 s of training per fold.",
)
"""What the stored figures say, as of the run named in it."""


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from results import replace_section, stored_or_run

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="zero-shot,tfidf,jnli-tfidf")
    parser.add_argument("--epochs", type=float, default=None,
                        help="epochs for the kanjo runs (default: kanjo's default)")
    parser.add_argument("--table", action="store_true", help="print the stored results only")
    parser.add_argument("--record", action="store_true",
                        help="write the table into benchmarks/RESULTS.md (replaces its section)")
    args = parser.parse_args()
    if not args.table:
        for method in args.methods.split(","):
            if method not in METHODS:
                parser.error(f"unknown method {method} (choose from {', '.join(METHODS)})")
            result = stored_or_run(result_path(method, args.epochs),
                                   lambda m=method: run(m, args.epochs))
            print(method, result.get("valid") or result.get("summary"), flush=True)
    section = table()
    if args.record:
        replace_section(section)
    print(section)


if __name__ == "__main__":
    main()
