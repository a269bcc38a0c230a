"""Head and vector variants for the small-data regime, on the samples and dev rows of
``benchmarks/small_data.py`` (JRTE pn train subsets of 64 and 256 rows, seeds 0–4, scored on the
1,112 dev rows; trained like ``kanjo train``: 90 % of the sample, the votes as soft labels).

Variants of the vectors, each fed to kanjo's head (:func:`kanjo.training.embedding_head.fit_head`):
the last layer (kanjo's default), means of layers 9–12 / 6–12 / 1–12, the ``query: `` and
``passage: `` vectors concatenated or averaged, mean- and max-pooling concatenated; and one
variant of the head: shrinkage LDA (Ledoit–Wolf, and a fixed 0.8) with uniform priors and a
temperature fitted on 5-fold out-of-fold scores. Every vector is mean-pooled over the real tokens
and L2-normalised, as :class:`kanjo.models.sentence_encoder.SentenceEncoder` does.

The hidden states of all 5,000 rows are cached under ``benchmarks/.runs/small_data/`` (about
30 s per prefix on 2 quiet cores). Results go to stdout: mean ± sd of dev macro-F1 and ECE.

    python benchmarks/small_data_heads.py
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import small_data as sd  # noqa: E402  (the samples, votes and scores of the learning curves)


def hidden_states(rows: list[list[str]], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean-pooled states of every layer [13, 5000, 384] (embeddings first), max-pooled last
    layer [5000, 384]), cached."""
    name = prefix.strip(": ") or "none"
    path, path_max = sd.RUNS / f"layers-{name}.npy", sd.RUNS / f"max-{name}.npy"
    if path.exists() and path_max.exists():
        return np.load(path).astype(np.float64), np.load(path_max).astype(np.float64)
    import torch

    from kanjo.data.batching import CPU_BATCH_TOKENS, length_sorted_batches
    from kanjo.models.pooled_classifier import mean_pool
    from kanjo.models.resolve import resolve
    from kanjo.models.sentence_encoder import SentenceEncoder
    from kanjo.models.tokenize import encode

    encoder = SentenceEncoder.load(resolve("default").location, 256, prefix)
    # tokenised once, as SentenceEncoder.embed does; its pooling keeps the last layer only
    ids, _ = encode(encoder.tokenizer, [prefix + r[2] for r in rows], encoder.max_length)
    layers = np.zeros((encoder.model.config.num_hidden_layers + 1, len(ids), encoder.dim),
                      np.float32)
    maxed = np.zeros((len(ids), encoder.dim), np.float32)
    with torch.inference_mode():
        for batch in length_sorted_batches([len(x) for x in ids], 64, CPU_BATCH_TOKENS):
            batch = list(batch)
            x = encoder.tokenizer.pad({"input_ids": [ids[i] for i in batch]},
                                      return_tensors="pt")
            states = encoder.model(**x, output_hidden_states=True).hidden_states
            mask = x["attention_mask"].unsqueeze(-1).float()
            for layer, h in enumerate(states):
                layers[layer, batch] = mean_pool(h, x["attention_mask"]).numpy()
            maxed[batch] = (states[-1] + (mask - 1) * 1e4).max(1).values.numpy()
    sd.RUNS.mkdir(parents=True, exist_ok=True)
    np.save(path, layers.astype(np.float16))
    np.save(path_max, maxed)
    return layers.astype(np.float64), maxed.astype(np.float64)


def normed(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def kanjo_head(x: np.ndarray, y: np.ndarray, soft: np.ndarray, seed: int) -> Callable:
    from kanjo.training.embedding_head import fit_head

    return fit_head(x, y, 3, seed=seed, soft=soft).logits


def lda_head(shrinkage: str | float) -> Callable:
    def fit(x: np.ndarray, y: np.ndarray, soft: np.ndarray, seed: int) -> Callable:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.model_selection import StratifiedKFold

        from kanjo.evaluation.calibration import fit_temperature

        def make() -> LinearDiscriminantAnalysis:
            return LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage,
                                              priors=np.ones(3) / 3)

        oof = np.zeros((len(y), 3))
        for train, held in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
            oof[held] = make().fit(x[train], y[train]).decision_function(x[held])
        temperature = fit_temperature(oof, y)
        model = make().fit(x, y)
        return lambda v: model.decision_function(v) / temperature
    return fit


def main() -> None:
    from kanjo.evaluation.calibration import softmax

    rows = sd.read_rows()
    ids = {name: i for i, name in enumerate(sd.LABELS)}
    y = np.array([ids[sd.LABEL_OF[r[1]]] for r in rows])
    dev = np.array([i for i, r in enumerate(rows) if r[4] == "dev"])
    votes = sd.votes()
    query, query_max = hidden_states(rows, "query: ")
    passage, _ = hidden_states(rows, "passage: ")
    last = normed(query[-1])
    variants: list[tuple[str, np.ndarray, Callable]] = [
        ("last layer (kanjo's default)", last, kanjo_head),
        ("mean of layers 9-12", normed(query[9:].mean(0)), kanjo_head),
        ("mean of layers 6-12", normed(query[6:].mean(0)), kanjo_head),
        ("mean of layers 1-12", normed(query[1:].mean(0)), kanjo_head),
        ("query: and passage: concatenated", np.hstack([last, normed(passage[-1])]), kanjo_head),
        ("query: and passage: averaged", normed(last + normed(passage[-1])), kanjo_head),
        ("mean- and max-pooled concatenated", np.hstack([last, normed(query_max)]), kanjo_head),
        ("shrinkage LDA, Ledoit-Wolf", last, lda_head("auto")),
        ("shrinkage LDA, 0.8", last, lda_head(0.8)),
    ]
    print("| variant | rows | dev macro-F1 | ECE | per seed |\n|---|---|---|---|---|")
    for name, x, fit in variants:
        for n in (64, 256):
            f1, ece = [], []
            for seed in range(5):
                rows_fit = sd.kanjo_train_rows(sd.subset(rows, n, seed), y, seed)
                logits = fit(x[rows_fit], y[rows_fit], votes[rows_fit], seed)
                s = sd.scores(y[dev], softmax(logits(x[dev])))
                f1.append(s["macro_f1"])
                ece.append(s["ece"])
            print(f"| {name} | {n} | {statistics.mean(f1):.3f} ± {statistics.stdev(f1):.3f} | "
                  f"{statistics.mean(ece):.3f} | {' '.join(f'{v:.3f}' for v in f1)} |",
                  flush=True)


if __name__ == "__main__":
    main()
