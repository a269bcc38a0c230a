"""``LossTrainer``: transformers' ``Trainer`` with kanjo's loss (:mod:`kanjo.training.losses`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import Trainer

from kanjo.training.losses import training_loss


class LossTrainer(Trainer):
    """A ``Trainer`` whose training loss is :func:`~kanjo.training.losses.training_loss`:
    soft or hard targets, optional class weights, label smoothing and R-Drop. The evaluation
    loss stays plain cross-entropy. Every other argument is ``Trainer``'s."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args: Any, class_weights: Sequence[float] | None = None,
                 label_smoothing: float = 0.0, rdrop: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.class_weights = list(class_weights) if class_weights else None
        self.label_smoothing = label_smoothing
        self.rdrop = rdrop

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        loss, outputs = training_loss(model, inputs, self.class_weights, self.label_smoothing,
                                      self.rdrop)
        return (loss, outputs) if return_outputs else loss
