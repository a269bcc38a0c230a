"""The fine-tuning loss: cross-entropy against hard labels or per-row label distributions,
optionally class-weighted and label-smoothed, and R-Drop (Liang et al., 2021, "R-Drop:
Regularized Dropout for Neural Networks"); for multi-hot targets (``--task multi-label``)
binary cross-entropy on each label's logit, optionally with a balanced positive weight."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> list[float] | None:
    """Per-class loss weights [n_classes]: 'balanced' gives each class total / (k × count)
    (scikit-learn's ``class_weight='balanced'`` rule); 'none' gives None. For multi-hot ``y``
    [n, k], 'balanced' gives each label's positive weight negatives / positives (the
    ``pos_weight`` of ``binary_cross_entropy_with_logits``)."""
    if mode == "none":
        return None
    if y.ndim == 2:
        positives = y.sum(axis=0)
        return ((len(y) - positives) / np.maximum(positives, 1)).round(6).tolist()
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return (len(y) / (n_classes * np.maximum(counts, 1))).round(6).tolist()


def rdrop_divergence(logits: Any) -> Any:
    """R-Drop's regulariser: the symmetric KL divergence between the two halves of ``logits``
    [2n, k] (two dropout passes over the same batch), averaged over the n rows."""
    import torch.nn.functional as F

    first, second = F.log_softmax(logits, dim=-1).chunk(2)
    forward = F.kl_div(second, first, log_target=True, reduction="batchmean")
    backward = F.kl_div(first, second, log_target=True, reduction="batchmean")
    return (forward + backward) / 2


def training_loss(model: Any, inputs: dict[str, Any], weights: Sequence[float] | None = None,
                  label_smoothing: float = 0.0, rdrop: float = 0.0) -> tuple[Any, Any]:
    """(loss, model outputs) of one batch: ``inputs`` holds the model's tensors plus ``labels``
    [n] and optionally ``soft_labels`` [n, k] (the target when present). In eval mode the loss
    is plain cross-entropy against the hard labels; with ``rdrop`` > 0 the batch runs twice
    (as one doubled batch) and ``rdrop`` × :func:`rdrop_divergence` is added. Float
    ``labels`` (a regression, one output) are fitted by mean squared error, as transformers'
    ``problem_type="regression"`` does, in training and eval."""
    import torch
    import torch.nn.functional as F

    inputs = dict(inputs)
    labels = inputs.pop("labels")
    soft = inputs.pop("soft_labels", None)
    if labels.dim() == 2:
        return _multi_label_loss(model, inputs, labels, weights, label_smoothing)
    if labels.is_floating_point():
        outputs = model(**inputs)
        return F.mse_loss(outputs.logits.float().squeeze(-1), labels.float()), outputs
    if not model.training:
        outputs = model(**inputs)
        return F.cross_entropy(outputs.logits.float(), labels), outputs
    target = soft.float() if soft is not None else labels
    twice = rdrop > 0
    if twice:
        inputs = {k: torch.cat([v, v]) for k, v in inputs.items()}
        target = torch.cat([target, target])
    outputs = model(**inputs)
    logits = outputs.logits.float()
    weight = torch.tensor(list(weights), device=logits.device) if weights else None
    loss = F.cross_entropy(logits, target, weight=weight, label_smoothing=label_smoothing)
    if twice:
        loss = loss + rdrop * rdrop_divergence(logits)
    return loss, outputs


def _multi_label_loss(model: Any, inputs: dict[str, Any], targets: Any,
                      pos_weight: Sequence[float] | None, label_smoothing: float
                      ) -> tuple[Any, Any]:
    """Binary cross-entropy of each label's logit against multi-hot ``targets`` [n, k], the
    mean over rows and labels; training smooths targets towards 1/2 by ``label_smoothing``
    and weighs positives by ``pos_weight`` [k]. The evaluation loss is plain BCE."""
    import torch
    import torch.nn.functional as F

    outputs = model(**inputs)
    logits = outputs.logits.float()
    target = targets.float()
    if not model.training:
        return F.binary_cross_entropy_with_logits(logits, target), outputs
    target = target * (1 - label_smoothing) + label_smoothing / 2
    weight = torch.tensor(list(pos_weight), device=logits.device) if pos_weight else None
    return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight), outputs
