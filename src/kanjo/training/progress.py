"""A compact training display: one progress bar with loss and ETA, one line per evaluation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback


class KanjoProgress(TrainerCallback):
    """Replaces transformers' progress printer (which prints every log dict)."""

    def __init__(self, summary: str | None = None) -> None:
        self.bar: tqdm | None = None
        self.summary = summary

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            if self.summary:
                print(self.summary, file=sys.stderr, flush=True)
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="training",
                            unit="step", dynamic_ncols=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if self.bar is not None and logs and "loss" in logs:
            self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}", epoch=f"{state.epoch:.2f}")

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None,
                    **kwargs: Any) -> None:
        if self.bar is not None and metrics:
            shown = (("Pearson", "pearson"), ("RMSE", "rmse")) if "eval_pearson" in metrics \
                else (("macro-F1", "macro_f1"), ("accuracy", "accuracy"))
            self.bar.write(file=sys.stderr, s=
                f"epoch {state.epoch:.2f} · step {state.global_step}: dev "
                + " · ".join(f"{name} {metrics.get('eval_' + key, float('nan')):.4f}"
                             for name, key in shown)
                + f" · loss {metrics.get('eval_loss', float('nan')):.4f}"
            )

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            if state.global_step < state.max_steps:
                best = state.best_metric
                metric = "Pearson" if args.metric_for_best_model == "pearson" else "macro-F1"
                print(f"early stopping at step {state.global_step} of {state.max_steps}: dev "
                      f"{metric} stopped improving (best {best:.4f} at "
                      f"{Path(state.best_model_checkpoint or '?').name})", file=sys.stderr,
                      flush=True)
