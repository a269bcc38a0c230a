"""Early stopping that lets a run leave its first plateau.

A fine-tuned encoder often predicts the majority class for its first epochs and then leaves that
plateau (Mosbach et al., 2021, "On the Stability of Fine-Tuning BERT": such failures are
optimisation failures that more steps fix). transformers' ``EarlyStoppingCallback`` counts every
evaluation, so it can end a run on the plateau and keep its first, degenerate checkpoint. On
JNLI (5-fold cross-validation of valid, kanjo defaults, 301 steps) one fold in five stopped at
step 165 with dev macro-F1 0.23 — every pair predicted "neutral" — while the other four
folds left the same plateau after 2–3 epochs (``benchmarks/RESULTS.md``, "Sentence pairs").

Here evaluations in the first half of the scheduled steps do not count toward the patience;
the best checkpoint is still selected over all of them.
"""

from __future__ import annotations

from typing import Any

from transformers import EarlyStoppingCallback

COUNT_FROM = 0.5
"""Fraction of the scheduled steps after which evaluations without improvement count."""


class PlateauAwareEarlyStopping(EarlyStoppingCallback):
    """``EarlyStoppingCallback(patience)`` whose patience counts only evaluations after
    ``COUNT_FROM`` of ``state.max_steps``."""

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any,
                    **kwargs: Any) -> None:
        if state.global_step < COUNT_FROM * state.max_steps:
            return
        super().on_evaluate(args, state, control, metrics, **kwargs)
