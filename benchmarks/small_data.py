"""Learning curves in the small-data regime: JRTE pn train subsets of 64, 256 and 1,024 rows
(stratified, several seeds), each recipe trained on the subset alone and scored on the 1,112
dev rows (macro-F1, accuracy, ECE of the top-class probability, 10 bins).

Recipes (``--recipes``):

* ``tfidf``            kanjo's TF-IDF character n-gram baseline (``--model tfidf``);
* ``embeddings``       kanjo's small-data recipe (``--recipe embeddings``): frozen default encoder,
                       mean-pooled e5 vectors (``query: `` prefix), class-balanced logistic
                       regression, C and the temperature chosen by cross-validation on the
                       subset (:mod:`kanjo.training.embedding_head`), trained like
                       ``kanjo train``: 90 % of the subset, a 10 % dev split held out;
* ``embeddings-noprefix``  the same without the e5 prefix;
* ``embeddings-all``   the same on all rows of the subset (no 10 % dev split held out);
* ``embeddings-hard``  the same on the hard labels (``kanjo train`` uses the annotator votes of
                       JRTE as soft labels: ``soft_labels: auto``);
* ``embeddings+tfidf`` the geometric mean of both models' calibrated probabilities;
* ``finetune``         kanjo's fine-tuning defaults through ``kanjo.train`` (its own dev split
                       drawn from the subset: nothing is selected on the dev rows);
* ``setfit``           the reference: SetFit 1.2 (Tunstall et al. 2022, "Efficient Few-Shot
                       Learning Without Prompts") on the same encoder — contrastive fine-tuning
                       of the mean-pooled body on 20 iterations of pairs as in the paper (a
                       positive and a negative pair per sentence each; one epoch, batch 16;
                       1.2's default sampling makes 3.5 times the pairs at 256 rows), then a
                       class-balanced logistic-regression head, on all rows
                       of the subset with their hard labels and the ``query: `` prefix. SetFit
                       is not a kanjo dependency: run this recipe from an environment with
                       ``pip install setfit==1.2.0`` added.

Embeddings are computed once per prefix for all 5,000 rows and cached under
``benchmarks/.runs/small_data/`` (about 5 minutes on 2 cores); every (recipe, rows, seed) result
is a JSON file there, so an interrupted run continues where it stopped. ``--table`` prints the
Markdown table from whatever is stored.

    python benchmarks/small_data.py --rows 64,256,1024 --seeds 0,1,2,3,4 \
        --recipes tfidf,embeddings,embeddings+tfidf
    python benchmarks/small_data.py --rows 64,256 --seeds 0 --recipes finetune
    python benchmarks/small_data.py --table
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "jrte-pn" / "pn.train-dev.tsv"
RUNS = ROOT / "benchmarks" / ".runs" / "small_data"
LABELS = ("negative", "neutral", "positive")
LABEL_OF = {"-1": "negative", "0": "neutral", "1": "positive"}


def read_rows() -> list[list[str]]:
    """The 5,000 rows: [id, label, text, judges, usage]."""
    if not DATA.exists():
        sys.exit(f"missing {DATA}: see ../shared/data/README.md")
    return [line.rstrip("\n").split("\t") for line in DATA.read_text(encoding="utf-8").splitlines()]


def subset(rows: list[list[str]], n: int, seed: int) -> np.ndarray:
    """Indices of a stratified sample of ``n`` train rows."""
    from sklearn.model_selection import train_test_split

    train = np.array([i for i, r in enumerate(rows) if r[4] == "train"])
    y = np.array([rows[i][1] for i in train])
    picked, _ = train_test_split(train, train_size=n, stratify=y, random_state=seed)
    return np.sort(picked)


def embeddings(rows: list[list[str]], prefix: str) -> np.ndarray:
    """Cached mean-pooled default-encoder vectors [5000, 384] of every row."""
    name = "emb-query.npy" if prefix else "emb-noprefix.npy"
    path = RUNS / name
    if path.exists():
        return np.load(path)
    from kanjo.models.resolve import resolve
    from kanjo.models.sentence_encoder import SentenceEncoder

    started = time.time()
    encoder = SentenceEncoder.load(resolve("default").location, 256, prefix)
    vectors, _ = encoder.embed([r[2] for r in rows])
    RUNS.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    print(f"embedded {len(rows)} rows ({prefix!r}) in {time.time() - started:.0f} s", flush=True)
    return vectors


def scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    from kanjo.evaluation.calibration import calibration
    from kanjo.evaluation.metrics import classification_metrics

    metrics = classification_metrics(y, proba.argmax(axis=1), LABELS, proba)
    return {"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"],
            "ece": calibration(y, proba)["ece"],
            "mean_confidence": float(proba.max(axis=1).mean())}


def run_one(recipe: str, rows: list[list[str]], n: int, seed: int) -> dict[str, object]:
    from kanjo.evaluation.calibration import softmax

    idx = subset(rows, n, seed)
    dev = np.array([i for i, r in enumerate(rows) if r[4] == "dev"])
    ids = {name: i for i, name in enumerate(LABELS)}
    y = np.array([ids[LABEL_OF[r[1]]] for r in rows])
    texts = [r[2] for r in rows]
    started = time.time()
    extra: dict[str, object] = {}
    if recipe == "tfidf":
        proba = tfidf_proba(texts, y, idx, dev)
    elif recipe.startswith("embeddings"):
        from kanjo.training.embedding_head import fit_head

        vectors = embeddings(rows, "" if recipe == "embeddings-noprefix" else "query: ")
        # as `kanjo train` does by default: a 10 % dev split is held out (and only scored)
        fit_idx = idx if recipe == "embeddings-all" else kanjo_train_rows(idx, y, seed)
        head = fit_head(vectors[fit_idx], y[fit_idx], len(LABELS), seed=seed,
                        soft=None if recipe == "embeddings-hard" else votes()[fit_idx])
        proba = softmax(head.logits(vectors[dev]))
        extra = {"C": head.info["C"], "temperature": head.info["temperature"]}
        if recipe == "embeddings+tfidf":
            log_mix = 0.5 * np.log(proba + 1e-12) + 0.5 * np.log(
                tfidf_proba(texts, y, fit_idx, dev) + 1e-12)
            proba = softmax(log_mix)
    elif recipe == "finetune":
        proba, extra = finetune_proba(rows, idx, dev, seed)
    elif recipe == "setfit":
        proba = setfit_proba(texts, y, idx, dev, seed)
    else:
        raise SystemExit(f"unknown recipe {recipe}")
    return {"recipe": recipe, "rows": n, "seed": seed, "seconds": round(time.time() - started, 1),
            **scores(y[dev], proba), **extra}


def kanjo_train_rows(idx: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """The rows of ``idx`` that ``kanjo train`` trains on with its default 10 % dev split."""
    from sklearn.model_selection import train_test_split

    n_dev = max(int(round(0.1 * len(idx))), 3)
    train, _ = train_test_split(idx, test_size=n_dev, random_state=seed, stratify=y[idx])
    return np.sort(train)


def votes() -> np.ndarray:
    """Annotator vote shares [5000, 3] as ``kanjo train`` reads them (``soft_labels: auto``)."""
    from kanjo.data import LabelSet, read_table

    table = read_table(DATA, format="jrte")
    labels = LabelSet.infer(table)
    assert labels.names == LABELS, labels.names
    return labels.encode_soft(table)


def tfidf_proba(texts: list[str], y: np.ndarray, idx: np.ndarray, dev: np.ndarray) -> np.ndarray:
    from kanjo.models.tfidf import TfidfClassifier

    model = TfidfClassifier().fit([texts[i] for i in idx], soft_targets=np.eye(3)[y[idx]])
    return model.predict_proba([texts[i] for i in dev])


def finetune_proba(rows: list[list[str]], idx: np.ndarray, dev: np.ndarray,
                   seed: int) -> tuple[np.ndarray, dict[str, object]]:
    import kanjo
    from kanjo.training.finetune import train

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.tsv"
        path.write_text("".join("\t".join(rows[i][:4]) + "\ttrain\n" for i in idx),
                        encoding="utf-8")
        model = train(path, Path(tmp) / "model", format="jrte", recipe="finetune", seed=seed)
        proba = kanjo.load(Path(tmp) / "model").predict_proba([rows[i][2] for i in dev])
        return proba, {"temperature": model.temperature}


def setfit_proba(texts: list[str], y: np.ndarray, idx: np.ndarray, dev: np.ndarray,
                 seed: int) -> np.ndarray:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, models
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.linear_model import LogisticRegression

    from kanjo.models.resolve import resolve

    encoder = models.Transformer(str(resolve("default").location), max_seq_length=256)
    body = SentenceTransformer(modules=[encoder, models.Pooling(
        encoder.get_word_embedding_dimension(), "mean")], device="cpu")
    model = SetFitModel(model_body=body, model_head=LogisticRegression(
        class_weight="balanced", max_iter=2000), normalize_embeddings=True)
    data = Dataset.from_dict({"text": ["query: " + texts[i] for i in idx],
                              "label": y[idx].tolist()})
    with tempfile.TemporaryDirectory() as tmp:  # its checkpoints, not in the working tree
        trainer = Trainer(model=model, train_dataset=data, args=TrainingArguments(
            output_dir=tmp, batch_size=16, num_epochs=1, num_iterations=20, seed=seed,
            show_progress_bar=False, report_to="none"))
        trainer.train()
    return np.asarray(model.predict_proba(["query: " + texts[i] for i in dev],
                                          as_numpy=True), dtype=np.float64)


def table() -> str:
    results = [json.loads(p.read_text()) for p in sorted(RUNS.glob("result-*.json"))]
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in results:
        groups.setdefault((r["recipe"], r["rows"]), []).append(r)
    lines = ["| rows | recipe | seeds | dev macro-F1 | dev accuracy | ECE | mean top prob | "
             "train s |", "|---|---|---|---|---|---|---|---|"]

    def fmt(values: list[float]) -> str:
        if len(values) == 1:
            return f"{values[0]:.3f}"
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

    for (recipe, n), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        seeds = ",".join(str(r["seed"]) for r in sorted(group, key=lambda r: r["seed"]))
        lines.append(f"| {n} | {recipe} | {seeds} | {fmt([r['macro_f1'] for r in group])} | "
                     f"{fmt([r['accuracy'] for r in group])} | {fmt([r['ece'] for r in group])} "
                     f"| {fmt([r['mean_confidence'] for r in group])} | "
                     f"{statistics.mean(r['seconds'] for r in group):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="64,256,1024")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--recipes", default="tfidf,embeddings,embeddings+tfidf")
    parser.add_argument("--embed-only", action="store_true",
                        help="only compute the cached embeddings")
    parser.add_argument("--table", action="store_true", help="print the stored results")
    args = parser.parse_args()
    if args.table:
        print(table())
        return
    rows = read_rows()
    if args.embed_only:
        embeddings(rows, "query: ")
        embeddings(rows, "")
        return
    for recipe in args.recipes.split(","):
        for n in map(int, args.rows.split(",")):
            for seed in map(int, args.seeds.split(",")):
                path = RUNS / f"result-{recipe}-{n}-{seed}.json"
                if path.exists():
                    continue
                result = run_one(recipe, rows, n, seed)
                RUNS.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(result, indent=1))
                print(json.dumps(result), flush=True)
    print(table())


if __name__ == "__main__":
    main()
