"""Linear probing then fine-tuning (LP-FT; Kumar et al. 2022, "Fine-Tuning can Distort Pretrained
Features and Underperform Out-of-Distribution") in the small-data regime, on the samples and dev
rows of ``benchmarks/small_data.py`` (JRTE pn train subsets, seeds 0–4, scored on the 1,112 dev
rows; trained like ``kanjo train``: 90 % of the sample, the votes as soft labels).

1. LP: kanjo's calibrated head on the frozen vectors
   (:func:`kanjo.training.embedding_head.fit_head`);
2. FT: the whole encoder and that head trained together on the same rows and targets, the
   head's class-balanced soft cross-entropy, AdamW, linear warm-up (10 %) and decay;
3. scored alone, as the mean of its log-probabilities with the LP head's, and with kanjo's head
   fitted again (cross-fitted C and temperature) on the tuned encoder's vectors of the same rows.

Results go to stdout: mean ± sd of dev macro-F1 and ECE per variant.

    python benchmarks/small_data_lpft.py --rows 256 --seeds 0,1,2 --lr 2e-5 --epochs 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import small_data as sd  # noqa: E402  (the samples, votes and scores of the learning curves)


def fine_tune(texts: list[str], targets: np.ndarray, class_weight: np.ndarray, head,
              lr: float, epochs: int, seed: int, batch_size: int = 16):
    """(encoder, linear layer): the default encoder and a linear layer started from the LP
    ``head``, trained together on ``texts`` with soft ``targets`` [n, k]."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    from kanjo.models.resolve import resolve
    from kanjo.models.sentence_encoder import E5_PREFIX, SentenceEncoder, mean_pool
    from kanjo.models.tokenize import encode

    torch.manual_seed(seed)
    encoder = SentenceEncoder.load(resolve("default").location, 256, E5_PREFIX)
    model = encoder.model.train()
    linear = torch.nn.Linear(encoder.dim, targets.shape[1])
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(head.weight))
        linear.bias.copy_(torch.from_numpy(head.bias))
    ids, _ = encode(encoder.tokenizer, [E5_PREFIX + t for t in texts], encoder.max_length)
    params = list(model.parameters()) + list(linear.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * -(-len(ids) // batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
    t = torch.from_numpy(targets).float()
    w = torch.from_numpy(class_weight).float()
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(ids))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            x = encoder.tokenizer.pad({"input_ids": [ids[i] for i in batch]},
                                      return_tensors="pt")
            v = torch.nn.functional.normalize(
                mean_pool(model(**x).last_hidden_state, x["attention_mask"]), dim=-1)
            log_p = torch.log_softmax(linear(v), dim=-1)
            tb = t[batch]
            loss = -((tb * log_p).sum(1) * (tb @ w)).sum() / (tb @ w).sum()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
    model.eval()
    return encoder, linear


def logits_of(encoder, linear, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(logits [n, k], vectors [n, dim]) of the tuned encoder + layer on ``texts``."""
    import torch

    vectors, _ = encoder.embed(texts)
    with torch.no_grad():
        return linear(torch.from_numpy(vectors)).numpy(), vectors


def cross_fitted(texts: list[str], x: np.ndarray, y: np.ndarray, votes: np.ndarray,
                 dev_texts: list[str], folds: int, lr: float, epochs: int, seed: int):
    """Cross-fitted LP-FT on the rows given: for each of ``folds`` stratified folds, kanjo's
    head fitted on the other folds' frozen vectors, then LP-FT on those rows; returns the
    out-of-fold logits [n, k], each fold model's dev logits [folds, n_dev, k] and the dev logits
    of the fold models' weight average (a "model soup", Wortsman et al. 2022)."""
    import torch
    from sklearn.model_selection import StratifiedKFold

    from kanjo.training.embedding_head import fit_head

    oof = np.zeros((len(y), votes.shape[1]))
    dev_logits, soup, soup_linear = [], None, None
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        head = fit_head(x[tr], y[tr], votes.shape[1], seed=seed, soft=votes[tr])
        counts = np.bincount(y[tr], minlength=votes.shape[1])
        encoder, linear = fine_tune([texts[i] for i in tr], votes[tr],
                                    len(tr) / (votes.shape[1] * counts), head, lr, epochs, seed)
        oof[te] = logits_of(encoder, linear, [texts[i] for i in te])[0]
        dev_logits.append(logits_of(encoder, linear, dev_texts)[0])
        state = {k: v.detach().clone() / folds
                 for k, v in encoder.model.state_dict().items() if v.is_floating_point()}
        lin = {k: v.detach().clone() / folds for k, v in linear.state_dict().items()}
        if soup is None:
            soup, soup_linear, soup_encoder = state, lin, encoder
        else:
            soup = {k: soup[k] + state[k] for k in soup}
            soup_linear = {k: soup_linear[k] + lin[k] for k in soup_linear}
    with torch.no_grad():
        reference = soup_encoder.model.state_dict()
        soup_encoder.model.load_state_dict({**reference, **soup})
        linear.load_state_dict(soup_linear)
    return oof, np.stack(dev_logits), logits_of(soup_encoder, linear, dev_texts)[0]


def main() -> None:
    from kanjo.evaluation.calibration import fit_temperature, log_softmax, softmax
    from kanjo.training.embedding_head import fit_head

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="64,256")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--folds", type=int, default=0,
                        help="also cross-fit LP-FT over this many folds (0: no)")
    args = parser.parse_args()
    rows = sd.read_rows()
    ids = {name: i for i, name in enumerate(sd.LABELS)}
    y = np.array([ids[sd.LABEL_OF[r[1]]] for r in rows])
    dev = np.array([i for i, r in enumerate(rows) if r[4] == "dev"])
    votes = sd.votes()
    x = sd.embeddings(rows, "query: ")
    texts = [r[2] for r in rows]
    dev_texts = [texts[i] for i in dev]
    print(f"lr {args.lr}, epochs {args.epochs}")
    print("| rows | variant | dev macro-F1 | ECE | per seed |\n|---|---|---|---|---|")
    for n in map(int, args.rows.split(",")):
        results: dict[str, list[tuple[float, float]]] = {}
        seconds, cross_seconds, temperatures = [], [], []
        for seed in map(int, args.seeds.split(",")):
            fit = sd.kanjo_train_rows(sd.subset(rows, n, seed), y, seed)
            head = fit_head(x[fit], y[fit], 3, seed=seed, soft=votes[fit])
            lp = head.logits(x[dev])
            counts = np.bincount(y[fit], minlength=3)
            started = time.time()
            encoder, linear = fine_tune([texts[i] for i in fit], votes[fit],
                                        len(fit) / (3 * counts), head, args.lr, args.epochs, seed)
            ft, tuned_dev = logits_of(encoder, linear, dev_texts)
            seconds.append(time.time() - started)
            variants = [("LP (kanjo's default)", softmax(lp)), ("LP-FT", softmax(ft)),
                        ("LP + LP-FT", softmax(0.5 * (log_softmax(lp) + log_softmax(ft))))]
            if not args.folds:
                tuned_fit = logits_of(encoder, linear, [texts[i] for i in fit])[1]
                refit = fit_head(tuned_fit, y[fit], 3, seed=seed, soft=votes[fit])
                variants.append(("LP-FT body, kanjo's head refitted on it",
                                 softmax(refit.logits(tuned_dev))))
            else:
                started = time.time()
                oof, members, soup = cross_fitted(
                    [texts[i] for i in fit], x[fit], y[fit], votes[fit], dev_texts,
                    args.folds, args.lr, args.epochs, seed)
                cross_seconds.append(time.time() - started)
                t = fit_temperature(oof, y[fit])
                temperatures.append(t)
                variants += [
                    ("LP-FT, T from cross-fitted out-of-fold scores", softmax(ft, t)),
                    ("fold models' ensemble (mean probability), T",
                     np.mean([softmax(m, t) for m in members], axis=0)),
                    ("fold models' weight average (soup), T", softmax(soup, t)),
                    ("fold models' weight average (soup), T = 1", softmax(soup))]
            for name, proba in variants:
                s = sd.scores(y[dev], proba)
                results.setdefault(name, []).append((s["macro_f1"], s["ece"]))
        for name, pairs in results.items():
            f1 = [p[0] for p in pairs]
            print(f"| {n} | {name} | {statistics.mean(f1):.3f} ± "
                  f"{statistics.stdev(f1) if len(f1) > 1 else 0:.3f} | "
                  f"{statistics.mean(p[1] for p in pairs):.3f} | "
                  f"{' '.join(f'{v:.3f}' for v in f1)} |", flush=True)
        print(f"fine-tuning + dev encoding: {statistics.mean(seconds):.0f} s per seed", flush=True)
        if args.folds:
            print(f"cross-fitting ({args.folds} folds) + dev encodings: "
                  f"{statistics.mean(cross_seconds):.0f} s per seed; temperatures "
                  f"{' '.join(f'{t:.2f}' for t in temperatures)}", flush=True)


if __name__ == "__main__":
    main()
