"""Linear probing then fine-tuning (LP-FT; Kumar et al. 2022, "Fine-Tuning can Distort Pretrained
Features and Underperform Out-of-Distribution") in the small-data regime, as the embeddings
recipe runs it (:func:`kanjo.training.encoder_tuning.tune_encoder`), on the samples and dev rows
of ``benchmarks/small_data.py`` (JRTE pn train subsets, scored on the 1,112 dev rows; trained
like ``kanjo train``: 90 % of the sample, the votes as soft labels).

Variants per sample, all from one run:

1. LP: kanjo's calibrated head on the frozen vectors
   (:func:`kanjo.training.embedding_head.fit_head`), what ``--no-tune-encoder`` trains;
2. LP-FT, uncalibrated: the encoder and that head trained together on the same rows;
3. LP-FT with the temperature of the cross-fitted runs (the default).

The schedule and the folds are kanjo's (``encoder_tuning``'s constants) unless overridden.
Results go to stdout: mean ± sd of dev macro-F1 and ECE per variant, seconds per sample.

    python benchmarks/small_data_lpft.py --rows 64,256 --seeds 0,1,2
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


def main() -> None:
    from kanjo.evaluation.calibration import softmax
    from kanjo.models.resolve import resolve
    from kanjo.models.sentence_encoder import E5_PREFIX, SentenceEncoder
    from kanjo.training import encoder_tuning
    from kanjo.training.embedding_head import fit_head

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="64,256")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--lr", type=float, default=encoder_tuning.LR)
    parser.add_argument("--epochs", type=int, default=encoder_tuning.EPOCHS)
    parser.add_argument("--min-steps", type=int, default=encoder_tuning.MIN_STEPS)
    parser.add_argument("--folds", type=int, default=encoder_tuning.FOLDS)
    parser.add_argument("--train-embeddings", action="store_true",
                        help="also train the word-embedding matrix")
    args = parser.parse_args()
    encoder_tuning.LR, encoder_tuning.EPOCHS = args.lr, args.epochs
    encoder_tuning.MIN_STEPS, encoder_tuning.FOLDS = args.min_steps, args.folds
    rows = sd.read_rows()
    ids = {name: i for i, name in enumerate(sd.LABELS)}
    y = np.array([ids[sd.LABEL_OF[r[1]]] for r in rows])
    dev = np.array([i for i, r in enumerate(rows) if r[4] == "dev"])
    votes = sd.votes()
    x = sd.embeddings(rows, E5_PREFIX)
    texts = [r[2] for r in rows]
    dev_texts = [texts[i] for i in dev]
    print(f"lr {args.lr}, epochs {args.epochs} (at least {args.min_steps} steps), "
          f"{args.folds} calibration folds, word embeddings "
          f"{'trained' if args.train_embeddings else 'frozen'}")
    print("| rows | variant | dev macro-F1 | ECE | per seed |\n|---|---|---|---|---|")
    for n in map(int, args.rows.split(",")):
        results: dict[str, list[tuple[float, float]]] = {}
        seconds, temperatures, epochs = [], [], []
        for seed in map(int, args.seeds.split(",")):
            fit = sd.kanjo_train_rows(sd.subset(rows, n, seed), y, seed)
            head = fit_head(x[fit], y[fit], 3, seed=seed, prefix=E5_PREFIX, soft=votes[fit])
            encoder = SentenceEncoder.load(resolve("default").location, 256, E5_PREFIX)
            started = time.time()
            tuned, info = encoder_tuning.tune_encoder(
                encoder, head, x[fit], [texts[i] for i in fit], y[fit], votes[fit], seed,
                freeze_embeddings=not args.train_embeddings)
            seconds.append(time.time() - started)
            temperatures.append(info["temperature"])
            epochs.append(info["epochs"])
            logits = tuned.logits(encoder.embed(dev_texts)[0])
            for name, proba in (("LP (kanjo's frozen head)", softmax(head.logits(x[dev]))),
                                ("LP-FT, uncalibrated", softmax(logits, 1 / info["temperature"])),
                                ("LP-FT, cross-fitted temperature", softmax(logits))):
                s = sd.scores(y[dev], proba)
                results.setdefault(name, []).append((s["macro_f1"], s["ece"]))
        for name, pairs in results.items():
            f1 = [p[0] for p in pairs]
            print(f"| {n} | {name} | {statistics.mean(f1):.3f} ± "
                  f"{statistics.stdev(f1) if len(f1) > 1 else 0:.3f} | "
                  f"{statistics.mean(p[1] for p in pairs):.3f} | "
                  f"{' '.join(f'{v:.3f}' for v in f1)} |", flush=True)
        print(f"{n} rows: {epochs[0]} epochs, training {statistics.mean(seconds):.0f} s per "
              f"sample; temperatures {' '.join(f'{t:.2f}' for t in temperatures)}", flush=True)


if __name__ == "__main__":
    main()
