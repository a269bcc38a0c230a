"""LP-FT for the embeddings recipe: the head fitted on frozen vectors (linear probing,
:mod:`kanjo.training.embedding_head`) is the start of fine-tuning the encoder and the head
together (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution"). Starting from a good head, the small learning rate moves the encoder
towards the task without first destroying its features through a random head's gradients.

Calibration. A tuned encoder has seen its training rows, so no out-of-fold scores of those
rows exist for it; the temperature comes from :data:`FOLDS` cross-fitted runs instead. Each
fold's head is fitted on its training folds' frozen vectors, tuned on those rows with the same
schedule, and scores its held-out fold; the temperature fitted on these out-of-fold scores
(Guo et al. 2017) divides the logits of the model tuned on all rows. This is the scheme of
scikit-learn's ``CalibratedClassifierCV(ensemble=False)``: calibrator from cross-validated
predictions, estimator refitted on everything. Training costs about ``FOLDS`` fine-tunes' worth
of steps: ``FOLDS`` runs on (FOLDS − 1) / FOLDS of the rows, then one on all of them. Five folds
(with the word embeddings trained as well) gave the same macro-F1 at 64 rows and ECE 0.037
against 0.035, in 3.6 times the time.

Measured by ``benchmarks/small_data_lpft.py`` (JRTE pn, the default encoder, five samples, dev
macro-F1 / ECE on 1,112 unseen rows; ``benchmarks/RESULTS.md``, "Small data"): at 64 rows the
frozen head scores 0.631 / 0.040, the tuned model 0.640 / 0.114 uncalibrated and 0.640 / 0.041
with the cross-fitted temperature; at 256 rows 0.704 / 0.027 against 0.723 / 0.069 and
0.723 / 0.032. SetFit 1.2 on the same encoder and samples: 0.629 / 0.099 and 0.704 / 0.137.

The loop is written out (nanoGPT-style) rather than run by transformers' ``Trainer``: one model
call, a mean pool and a linear layer per step, with no checkpoints or evaluation to manage.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import numpy as np

from kanjo.data.batching import shuffled_batches
from kanjo.evaluation.calibration import fit_temperature
from kanjo.models.linear_head import LinearHead
from kanjo.models.sentence_encoder import SentenceEncoder
from kanjo.training.embedding_head import fit_head
from kanjo.training.losses import class_weights
from kanjo.training.optimizer import adamw_with_warmup, optimizer_step

LR = 2e-5
"""Peak AdamW learning rate (5e-5 scored the same macro-F1 at 256 rows, with ECE 0.063
against 0.041 uncalibrated)."""
EPOCHS = 8
"""Passes over the training rows (at 256 rows: 4 epochs 0.714, 8 epochs 0.725)."""
MIN_STEPS = 64
"""At least this many optimisation steps (64 rows: 16 epochs 0.636 against 4 epochs 0.624)."""
BATCH_SIZE = 16
"""Rows per step."""
FOLDS = 3
"""Cross-fitted runs whose out-of-fold scores give the temperature."""
WEIGHT_DECAY = 0.01
WARMUP = 0.1
"""Linear warm-up over this fraction of the steps, then linear decay to 0."""


def schedule(rows: int) -> tuple[int, int]:
    """(epochs, steps) for ``rows`` training rows: :data:`EPOCHS`, raised so that at least
    :data:`MIN_STEPS` steps run."""
    per_epoch = math.ceil(rows / BATCH_SIZE)
    epochs = max(EPOCHS, math.ceil(MIN_STEPS / per_epoch))
    return epochs, epochs * per_epoch


def tune(encoder: SentenceEncoder, head: LinearHead, texts: list[str], y: np.ndarray,
         soft: np.ndarray | None, epochs: int, seed: int, freeze_embeddings: bool = True,
         progress: Any = None) -> LinearHead:
    """Fine-tune ``encoder.model`` (in place) and ``head`` together on ``texts`` and return the
    tuned head. Targets are ``soft`` [n, k] (vote shares, rows summing to 1) or one-hot ``y``
    [n]; the loss is class-balanced soft cross-entropy (row weight: its target · the classes'
    ``n / (k × count)``), on the L2-normalised mean-pooled vectors that prediction uses.
    ``freeze_embeddings`` keeps the word-embedding matrix fixed (most of the default encoder's
    parameters, and most of AdamW's work). ``progress`` (a tqdm bar) is advanced per step."""
    import torch

    torch.manual_seed(seed)
    k = head.num_labels
    targets = np.eye(k)[y] if soft is None else np.asarray(soft)
    model = encoder.model.train()
    if freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    linear = torch.nn.Linear(head.weight.shape[1], k).to(encoder.device)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(head.weight))
        linear.bias.copy_(torch.from_numpy(head.bias))
    ids, _ = encoder.token_ids(texts)
    params = [p for p in model.parameters() if p.requires_grad] + list(linear.parameters())
    steps = epochs * math.ceil(len(ids) / BATCH_SIZE)
    optimizer, lr_schedule = adamw_with_warmup(params, LR, WEIGHT_DECAY, steps, WARMUP)
    t = torch.from_numpy(targets).float().to(encoder.device)
    w = torch.tensor(class_weights(y, k, "balanced"), device=encoder.device)
    for batch in shuffled_batches(len(ids), BATCH_SIZE, epochs, seed):
        vectors = encoder.pooled([ids[i] for i in batch])
        tb = t[batch]
        row_weight = tb @ w
        cross_entropy = torch.nn.functional.cross_entropy(linear(vectors), tb, reduction="none")
        loss = (cross_entropy * row_weight).sum() / row_weight.sum()
        optimizer_step(loss, optimizer, lr_schedule, params, progress)
    model.eval()
    return LinearHead(linear.weight.detach().cpu().numpy().astype(np.float32),
                      linear.bias.detach().cpu().numpy().astype(np.float32), head.prefix,
                      head.pooling, dict(head.info), head.features)


def calibration_folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, held-out rows) of each of the :data:`FOLDS` cross-fitted runs: a
    shuffled stratified k-fold (scikit-learn); ValueError when a class has fewer rows."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def cross_fitted_temperature(encoder: SentenceEncoder, vectors: np.ndarray, texts: list[str],
                             y: np.ndarray, num_labels: int, soft: np.ndarray | None,
                             epochs: int, seed: int,
                             splits: list[tuple[np.ndarray, np.ndarray]],
                             freeze_embeddings: bool = True,
                             progress: Any = None) -> tuple[float, np.ndarray]:
    """(temperature, out-of-fold logits [n, k]) of one LP-FT run per split on copies of the
    untouched ``encoder``: each run's head is fitted on its training rows' frozen ``vectors``
    [n, dim] and tuned on their texts for ``epochs``, then scores its held-out rows."""
    oof = np.zeros((len(y), num_labels), dtype=np.float32)
    for train, held in splits:
        fold_soft = None if soft is None else soft[train]
        head = fit_head(vectors[train], y[train], num_labels, seed=seed, prefix=encoder.prefix,
                        soft=fold_soft)
        fold_encoder = copy.deepcopy(encoder)
        tuned = tune(fold_encoder, head, [texts[i] for i in train], y[train], fold_soft, epochs,
                     seed, freeze_embeddings, progress)
        oof[held] = tuned.logits(fold_encoder.embed([texts[i] for i in held])[0])
        del fold_encoder
    return fit_temperature(oof, y), oof


def tune_encoder(encoder: SentenceEncoder, head: LinearHead, vectors: np.ndarray,
                 texts: list[str], y: np.ndarray, soft: np.ndarray | None, seed: int,
                 calibrate: bool = True, freeze_embeddings: bool = True
                 ) -> tuple[LinearHead, dict[str, Any]]:
    """LP-FT of ``encoder`` (in place) from ``head`` (fitted on all rows' frozen ``vectors``),
    with the cross-fitted temperature folded into the returned head (``calibrate=False``:
    temperature 1, no cross-fitted runs). Returns the head and what kanjo.json records: epochs,
    steps, learning rate, folds, temperature, seconds."""
    from tqdm.auto import tqdm

    started = time.time()
    epochs, steps = schedule(len(y))
    splits = calibration_folds(y, seed) if calibrate else []
    fold_steps = sum(epochs * math.ceil(len(train) / BATCH_SIZE) for train, _ in splits)
    temperature = 1.0
    with tqdm(total=steps + fold_steps, desc="tuning the encoder (LP-FT)", unit="step",
              dynamic_ncols=True) as progress:
        if calibrate:
            temperature, _ = cross_fitted_temperature(
                encoder, vectors, texts, y, head.num_labels, soft, epochs, seed, splits,
                freeze_embeddings, progress)
        tuned = tune(encoder, head, texts, y, soft, epochs, seed, freeze_embeddings, progress)
    tuned.weight /= temperature
    tuned.bias /= temperature
    # the head's info now describes the tuned head: its temperature is the cross-fitted one
    tuned.info.update(temperature=round(float(temperature), 4),
                      frozen_head_temperature=head.info.get("temperature"))
    info = {"method": "LP-FT (Kumar et al. 2022)", "epochs": epochs, "steps": steps,
            "lr": LR, "batch_size": BATCH_SIZE, "freeze_embeddings": freeze_embeddings,
            "calibration_folds": len(splits),
            "temperature": round(float(temperature), 4),
            "seconds": round(time.time() - started, 1)}
    return tuned, info
