"""Checkpoint averaging (SWA-style): the uniform mean of the weights at the last N checkpoints.

The weights are copied whenever the trainer checkpoints (with dev data, right after each
evaluation; without it, on the same schedule). Averaging points along the end of the training
trajectory gives a flatter solution than any one of them; it costs one copy of the trainable
weights per kept checkpoint (CPU memory) and one extra dev evaluation. The average replaces the
best single checkpoint only when it scores at least as well on dev (without dev data there is
nothing to compare with, and it is used).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from transformers import TrainerCallback


class WeightAverager(TrainerCallback):
    """Keeps a CPU copy of the trainable weights at each of the last ``keep`` checkpoints."""

    def __init__(self, keep: int) -> None:
        self.snapshots: deque[dict[str, Any]] = deque(maxlen=keep)

    def on_save(self, args: Any, state: Any, control: Any, model: Any = None,
                **kwargs: Any) -> None:
        if model is not None:
            self.snapshots.append(trainable_weights(model))

    def average(self) -> dict[str, Any]:
        import torch

        return {name: torch.stack([s[name] for s in self.snapshots]).mean(dim=0)
                for name in self.snapshots[0]}


def trainable_weights(model: Any) -> dict[str, Any]:
    return {name: p.detach().to("cpu", copy=True) for name, p in model.named_parameters()
            if p.requires_grad}


def load_weights(model: Any, weights: dict[str, Any]) -> None:
    import torch

    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            parameters[name].copy_(value)


def keep_better_average(trainer: Any, averager: WeightAverager) -> dict[str, Any]:
    """After training (the best checkpoint loaded): score the average on dev and keep it if it
    is at least as good; returns what was measured and decided."""
    if len(averager.snapshots) < 2:
        return {"checkpoints": len(averager.snapshots), "used": False}
    model = trainer.model
    if trainer.eval_dataset is None:
        load_weights(model, averager.average())
        return {"checkpoints": len(averager.snapshots), "used": True}
    single = trainable_weights(model)
    load_weights(model, averager.average())
    best = trainer.state.best_metric
    # predict, not evaluate: scores dev without firing the evaluation callbacks
    averaged = trainer.predict(trainer.eval_dataset).metrics["test_macro_f1"]
    used = averaged >= best
    if not used:
        load_weights(model, single)
    return {"checkpoints": len(averager.snapshots), "dev_macro_f1": round(averaged, 6),
            "best_single_dev_macro_f1": round(best, 6), "used": used}
