"""Training curves from a model's TensorBoard event files (``MODEL/logs``), read with
TensorBoard's own event reader."""

from __future__ import annotations

from pathlib import Path

TAGS = ("train/loss", "eval/loss", "eval/macro_f1", "eval/accuracy")


def read_curves(model_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` for the loss and dev-metric tags found under
    ``model_dir/logs`` (all event files; a later run's values at a step win); {} when there
    are no logs (tfidf models, ONNX exports)."""
    logs = Path(model_dir) / "logs"
    if not logs.is_dir() or not any(logs.rglob("events.out.tfevents.*")):
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    curves: dict[str, dict[int, float]] = {}
    for directory in sorted({p.parent for p in logs.rglob("events.out.tfevents.*")}):
        events = EventAccumulator(str(directory), size_guidance={"scalars": 0})
        events.Reload()
        for tag in TAGS:
            if tag in events.Tags().get("scalars", []):
                for event in events.Scalars(tag):
                    curves.setdefault(tag, {})[int(event.step)] = float(event.value)
    return {tag: sorted(values.items()) for tag, values in curves.items()}
