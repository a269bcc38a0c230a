"""AdamW parameter groups: one weight-decay rule for fine-tuning and pretraining.

The rule is transformers' own (``Trainer.get_decay_parameter_names``): every parameter is
decayed except biases and normalisation layers (LayerNorm, RMSNorm). It is what ``Trainer``
applies when it builds the optimiser itself, and for BERT-family encoders it equals the
name-based rule kanjo's fine-tuning used before (no decay on ``bias`` and ``LayerNorm``).
"""

from __future__ import annotations

import re
from typing import Any


def decay_parameter_names(model: Any) -> set[str]:
    """Names of the parameters that get weight decay (see the module docstring)."""
    from transformers import Trainer

    return set(Trainer.get_decay_parameter_names(None, model))  # uses no Trainer state


def parameter_groups(model: Any, lr: float, weight_decay: float,
                     layer_decay: float = 1.0) -> list[dict[str, Any]]:
    """AdamW groups of the trainable parameters: decayed or not (:func:`decay_parameter_names`);
    with ``layer_decay`` < 1 the learning rate shrinks geometrically from the head down to the
    embeddings (layer i of L at lr × decay^(L−i), embeddings at lr × decay^(L+1); Clark et al.,
    2020, ELECTRA)."""
    n_layers = model.config.num_hidden_layers
    decayed = decay_parameter_names(model)
    groups: dict[tuple[float, float], list[Any]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        layer = re.search(r"\.layers?\.(\d+)\.", name)
        if layer:
            depth = n_layers - int(layer.group(1))
        elif ".embeddings." in f".{name}":
            depth = n_layers + 1
        else:  # pooler and classification head
            depth = 0
        key = (lr * layer_decay**depth, weight_decay if name in decayed else 0.0)
        groups.setdefault(key, []).append(parameter)
    return [{"params": params, "lr": group_lr, "weight_decay": decay}
            for (group_lr, decay), params in groups.items()]


def adamw_with_warmup(params: list[Any], lr: float, weight_decay: float, steps: int,
                      warmup: float) -> tuple[Any, Any]:
    """(AdamW over ``params``, its learning-rate schedule): linear warm-up over the first
    ``warmup`` fraction of ``steps``, then linear decay to 0 (transformers'
    ``get_linear_schedule_with_warmup``, the schedule ``Trainer`` uses); call the schedule's
    ``step()`` after each optimiser step."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return optimizer, get_linear_schedule_with_warmup(optimizer, max(1, int(steps * warmup)),
                                                      steps)


def optimizer_step(loss: Any, optimizer: Any, lr_schedule: Any, params: list[Any],
                   progress: Any = None, max_grad_norm: float = 1.0) -> None:
    """One step of a hand-written loop: backpropagate ``loss``, clip the gradient norm of
    ``params`` to ``max_grad_norm`` (``Trainer``'s default), step the optimiser and its
    schedule, advance ``progress`` (a tqdm bar) if given."""
    import torch

    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()
    lr_schedule.step()
    if progress is not None:
        progress.update(1)
