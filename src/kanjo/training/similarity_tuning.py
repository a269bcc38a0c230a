"""Bi-encoder tuning for a sentence-pair regression (a similarity or relatedness score): the
encoder is fine-tuned so that the cosine of the two texts' sentence vectors orders the pairs as
their targets do, then an affine map of that cosine gives values in the target's units.

Loss: CoSENT (Su 2022, "CoSENT: a more efficient sentence vector scheme than Sentence-BERT";
sentence-transformers' ``CoSENTLoss``). For the cosines c and targets t of one batch,
``log(1 + Σ_{t_i > t_j} exp(λ (c_j − c_i)))``: every pair of pairs whose cosines are in the wrong
order is penalised, so only the ranking is learnt and the target's units do not matter. The
vectors are the L2-normalised mean-pooled ones that prediction uses
(:class:`~kanjo.models.sentence_encoder.SentenceEncoder`).

Why a bi-encoder and not a cross-encoder. The untrained default encoder's cosine already
reaches JSTS valid Pearson 0.833; tuning starts from that geometry instead of a random head. On
JSTS (``benchmarks/tasks.py``, 2 CPU cores; ``benchmarks/RESULTS.md``, "Sentence pairs"), the
defaults (2 epochs of the 11,206 pairs left after the dev split) score 0.877 in 15 minutes,
where fine-tuning a cross-encoder (``--recipe finetune``) needed 4 epochs and 30 minutes for
0.865. Exploratory runs on all 12,451 train pairs: one epoch 0.871 (8 minutes), two 0.878.

The loop is written out (nanoGPT-style), like :mod:`kanjo.training.encoder_tuning`'s.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from kanjo.data.batching import shuffled_batches
from kanjo.models.linear_head import LinearHead
from kanjo.models.sentence_encoder import PAIR_FEATURES, SentenceEncoder, pair_features
from kanjo.training.optimizer import adamw_with_warmup, optimizer_step

LR = 5e-5
"""Peak AdamW learning rate (JSTS, one epoch: 1e-4 scored valid Pearson 0.869, 5e-5 0.871)."""
EPOCHS = 2
"""Passes over the training pairs."""
MIN_STEPS = 64
"""At least this many optimisation steps (small data sets get more epochs)."""
BATCH_SIZE = 32
"""Pairs per step; CoSENT compares every two pairs of a batch."""
SCALE = 20.0
"""CoSENT's λ (the paper's and sentence-transformers' value)."""
WEIGHT_DECAY = 0.01
WARMUP = 0.1
"""Linear warm-up over this fraction of the steps, then linear decay to 0."""
HEAD_ROWS = 2000
"""Training pairs the tuned model's cosine head is fitted on (two parameters: a sample is
enough, and embedding all of JSTS's 11,206 training pairs again would add 75 s)."""
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))
"""L2 strengths RidgeCV chooses among (efficient leave-one-out)."""


def schedule(rows: int) -> tuple[int, int]:
    """(epochs, steps) for ``rows`` training pairs: :data:`EPOCHS`, raised so that at least
    :data:`MIN_STEPS` steps run."""
    per_epoch = math.ceil(rows / BATCH_SIZE)
    epochs = max(EPOCHS, math.ceil(MIN_STEPS / per_epoch))
    return epochs, epochs * per_epoch


def cosent_loss(cosine: Any, targets: Any, scale: float = SCALE) -> Any:
    """CoSENT of one batch: ``cosine`` and ``targets`` [b] torch tensors → a scalar tensor (0
    when every pair of pairs is ordered with a margin; ``log 2`` per-batch floor at a tie)."""
    import torch

    scores = cosine * scale
    wrong_order = scores[None, :] - scores[:, None]  # [i, j]: c_j − c_i, penalised if t_i > t_j
    ordered = targets[:, None] > targets[None, :]
    penalties = wrong_order[ordered]
    return torch.logsumexp(torch.cat([penalties.new_zeros(1), penalties]), dim=0)


def tune_similarity(encoder: SentenceEncoder, pairs: list[tuple[str, str]], y: np.ndarray,
                    epochs: int, seed: int, freeze_embeddings: bool = True,
                    progress: Any = None) -> int:
    """Fine-tune ``encoder.model`` in place with :func:`cosent_loss` on ``pairs`` and their
    targets ``y`` [n] (any units). ``freeze_embeddings`` keeps the word-embedding matrix fixed
    (most of the default encoder's parameters). ``progress`` (a tqdm bar) is advanced per
    step. Returns how many of the 2n texts were truncated to the encoder's max length."""
    import torch

    torch.manual_seed(seed)
    model = encoder.model.train()
    if freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    first, cut_first = encoder.token_ids([a for a, _ in pairs])
    second, cut_second = encoder.token_ids([b for _, b in pairs])
    params = [p for p in model.parameters() if p.requires_grad]
    steps = epochs * math.ceil(len(pairs) / BATCH_SIZE)
    optimizer, lr_schedule = adamw_with_warmup(params, LR, WEIGHT_DECAY, steps, WARMUP)
    targets = torch.tensor(np.asarray(y, dtype=np.float32), device=encoder.device)
    for batch in shuffled_batches(len(pairs), BATCH_SIZE, epochs, seed):
        u = encoder.pooled([first[i] for i in batch])
        v = encoder.pooled([second[i] for i in batch])
        loss = cosent_loss((u * v).sum(dim=-1), targets[batch])
        optimizer_step(loss, optimizer, lr_schedule, params, progress)
    model.eval()
    return cut_first + cut_second


def cosine_head(u: np.ndarray, v: np.ndarray, y: np.ndarray, prefix: str = "") -> LinearHead:
    """The head of a tuned bi-encoder: ``a · cos(u, v) + b``, least squares of the targets
    ``y`` [n] on the cosines of the unit vectors u, v [n, dim], as a one-output linear head on
    :data:`PAIR_FEATURES` (the cosine is the sum of the u ⊙ v block). An affine map keeps the
    cosine's Pearson and Spearman and puts the values in the target's units. On JSTS after
    tuning, a ridge head on all pair features scored valid Pearson 0.877 against the cosine's
    0.878 (0.876 on |u − v| and u ⊙ v)."""
    cosine = (u * v).sum(axis=1)
    slope, intercept = np.polyfit(cosine, y, 1) if np.ptp(cosine) > 0 else (0.0, np.mean(y))
    dim = u.shape[1]
    weight = np.zeros((1, 4 * dim), dtype=np.float32)
    weight[0, 3 * dim:] = slope
    return LinearHead(weight, np.array([intercept], dtype=np.float32), prefix,
                      features=PAIR_FEATURES,
                      info={"head": "a · cosine + b (least squares)", "slope": float(slope),
                            "intercept": float(intercept)})


def ridge_head(u: np.ndarray, v: np.ndarray, y: np.ndarray, prefix: str = "") -> LinearHead:
    """The head on a frozen encoder: ridge regression of ``y`` [n] on :data:`PAIR_FEATURES`
    of u, v [n, dim] (scikit-learn's ``RidgeCV``, α by leave-one-out among
    :data:`RIDGE_ALPHAS`). On JSTS, a ridge head on the frozen default encoder's
    [u ⊙ v, |u − v|, cos] (``benchmarks/tasks.py``'s embeddings-ridge) scored valid Pearson
    0.843 against the untrained cosine's 0.833."""
    from sklearn.linear_model import RidgeCV

    ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(pair_features(u, v), y)
    return LinearHead(ridge.coef_.reshape(1, -1).astype(np.float32),
                      np.array([ridge.intercept_], dtype=np.float32), prefix,
                      features=PAIR_FEATURES,
                      info={"head": "ridge regression on the pair features",
                            "alpha": float(ridge.alpha_)})


def fit_similarity(encoder: SentenceEncoder, pairs: list[tuple[str, str]], y: np.ndarray,
                   seed: int, tune: bool = True, freeze_embeddings: bool = True
                   ) -> tuple[LinearHead, dict[str, Any], int]:
    """With ``tune``, :func:`tune_similarity` of ``encoder`` (in place) on ``pairs``, then
    :func:`cosine_head` fitted on the tuned vectors of at most :data:`HEAD_ROWS` of them;
    without, :func:`ridge_head` on the frozen vectors of all of them. Returns the head, what
    kanjo.json records of the tuning (``method`` None when untuned) and how many of the
    training texts were truncated."""
    from tqdm.auto import tqdm

    started = time.time()
    info: dict[str, Any] = {"method": None, "reason": "tune_encoder is off"}
    rows = np.arange(len(pairs))
    cut = None
    if tune:
        epochs, steps = schedule(len(pairs))
        with tqdm(total=steps, desc="tuning the encoder (CoSENT)", unit="step",
                  dynamic_ncols=True) as progress:
            cut = tune_similarity(encoder, pairs, y, epochs, seed, freeze_embeddings, progress)
        info = {"method": "CoSENT bi-encoder (Su 2022)", "epochs": epochs, "steps": steps,
                "lr": LR, "batch_size": BATCH_SIZE, "scale": SCALE,
                "freeze_embeddings": freeze_embeddings,
                "seconds": round(time.time() - started, 1)}
        if len(rows) > HEAD_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(rows, HEAD_ROWS, replace=False))
    u, cut_u = encoder.embed([pairs[i][0] for i in rows])
    v, cut_v = encoder.embed([pairs[i][1] for i in rows])
    fit = cosine_head if tune else ridge_head
    head = fit(u, v, np.asarray(y)[rows], encoder.prefix)
    head.info["fitted_on_rows"] = len(rows)
    return head, info, cut_u + cut_v if cut is None else cut
