"""Training speed on JRTE pn train → dev: kanjo's default recipe against the notebook's way.

* ``kanjo``: ``kanjo.train`` with its defaults on the default encoder (dynamic padding of
  length-grouped batches, frozen word embeddings, best checkpoint kept);
* ``kanjo-trimmed``: the same on the vocabulary-trimmed default encoder (``kanjo trim``);
* ``notebook``: a plain transformers ``Trainer`` on the same encoder and hyperparameters (epochs,
  learning rate, batch size, warm-up, weight decay, seed), every row padded to the dataset's
  longest, all weights trained, evaluated once per epoch.

Each run is a fresh process (its peak RSS is its own). Reported: rows/s, the wall time at which
the final (best) dev macro-F1 was first reached, and the total.

    python benchmarks/train_speed.py [--runs kanjo,kanjo-trimmed,notebook] [--notebook-epochs N]
                                     [--record]

``--notebook-epochs`` stops the notebook run early (its learning-rate schedule still spans all
epochs); when it has not reached kanjo's F1 by then, its time is a lower bound.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ROOT = Path(__file__).resolve().parents[1]
PN = ROOT.parent / "shared" / "data" / "jrte-pn" / "pn.train-dev.tsv"
SECTION = "## Training speed"


def run_kanjo(work: Path, trimmed: bool) -> dict[str, Any]:
    import kanjo
    from kanjo.models.default_encoder import default_encoder_dir

    base = default_encoder_dir()
    if trimmed:
        from kanjo.models.vocab_trim import trim

        base = work / "default-trimmed"
        if not base.exists():
            trim("default", base)
    started = time.time()
    clf = kanjo.train(PN, work / ("kanjo-trimmed" if trimmed else "kanjo"), model=str(base),
                      overwrite=True)
    total = time.time() - started
    evals = _tensorboard_evals(clf.path / "logs")
    best = clf.meta["dev_metrics"]["macro_f1"]
    rows = clf.meta["data"]["train"]["rows"]
    steps, batch = clf.meta["train_steps"], clf.meta["config"]["batch_size"]
    seen = steps / math.ceil(rows / batch) * rows
    return {"final_f1": best, "total_s": total, "train_s": clf.meta["timings"]["train_seconds"],
            "rows_per_s": seen / clf.meta["timings"]["train_seconds"],
            "evals": [(t - started, f1) for t, f1 in evals],
            "time_to_final_f1": next(t - started for t, f1 in evals  # the kept checkpoint's
                                     if f1 == max(f for _, f in evals))}


def _tensorboard_evals(logs: Path) -> list[tuple[float, float]]:
    """(wall time, dev macro-F1) of every evaluation in a run's TensorBoard log."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logs))
    acc.Reload()
    tag = next(t for t in acc.Tags()["scalars"] if t.endswith("macro_f1"))
    return [(e.wall_time, e.value) for e in acc.Scalars(tag)]


def run_notebook(work: Path, epochs: float | None) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import f1_score
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        set_seed,
    )

    from kanjo.config import TrainConfig
    from kanjo.data import LabelSet, read_table
    from kanjo.models.default_encoder import default_encoder_dir

    config = TrainConfig()
    started = time.time()
    table = read_table(PN)
    train, dev = table.where_split("train"), table.where_split("dev")
    labels = LabelSet.infer(table)
    base = default_encoder_dir()
    set_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), id2label=labels.id2label, label2id=labels.label2id)
    longest = max(len(ids) for ids in tokenizer(table.texts)["input_ids"])

    def rows(part: Any) -> list[dict[str, Any]]:
        enc = tokenizer(part.texts, padding="max_length", max_length=longest, truncation=True)
        return [{"input_ids": i, "attention_mask": m, "labels": int(y)} for i, m, y in
                zip(enc["input_ids"], enc["attention_mask"], labels.encode(part), strict=True)]

    evals: list[tuple[float, float]] = []

    class Clock(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            evals.append((time.time() - started, metrics["eval_macro_f1"]))
            if epochs is not None and state.epoch >= epochs - 1e-6:
                control.should_training_stop = True

    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    args = TrainingArguments(
        output_dir=str(work / "notebook"), num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=64,
        learning_rate=config.lr, weight_decay=config.weight_decay,
        warmup_steps=int(config.warmup * steps_per_epoch * config.epochs),
        eval_strategy="epoch", save_strategy="no", report_to="none", seed=config.seed,
        use_cpu=True, logging_steps=50, disable_tqdm=True)
    trainer = Trainer(
        model=model, args=args, train_dataset=rows(train), eval_dataset=rows(dev),
        compute_metrics=lambda p: {"macro_f1": f1_score(p.label_ids, np.argmax(
            p.predictions, axis=-1), average="macro")},
        callbacks=[Clock()])
    train_started = time.time()
    trainer.train()
    train_s = time.time() - train_started
    best = max(f1 for _, f1 in evals)
    return {"final_f1": best, "total_s": time.time() - started, "train_s": train_s,
            "rows_per_s": trainer.state.global_step / steps_per_epoch * len(train) / train_s,
            "evals": evals, "padded_to": longest, "epochs_run": trainer.state.epoch,
            "time_to_final_f1": next(t for t, f1 in evals if f1 >= best)}


def child(name: str, work: Path, notebook_epochs: float | None) -> None:
    if name == "notebook":
        result = run_notebook(work, notebook_epochs)
    else:
        result = run_kanjo(work, trimmed=name == "kanjo-trimmed")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", default="kanjo,kanjo-trimmed,notebook")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "train-speed")
    parser.add_argument("--notebook-epochs", type=float)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.child, args.work, args.notebook_epochs)
        return
    results = {}
    for name in args.runs.split(","):
        command = [sys.executable, __file__, "--child", name, "--work", str(args.work)]
        if args.notebook_epochs:
            command += ["--notebook-epochs", str(args.notebook_epochs)]
        done = subprocess.run(command, capture_output=True, text=True)
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        if done.returncode or line is None:
            sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
        results[name] = json.loads(line[len("RESULT "):])
        print(name, json.dumps(results[name]), flush=True)
    text = report(results, args.notebook_epochs)
    print(text)
    if args.record:
        from results import replace_section  # benchmarks/ is on sys.path as a script

        replace_section(text)


def report(results: dict[str, dict[str, Any]], notebook_epochs: float | None) -> str:
    import kanjo

    lines = [SECTION, "", f"`python benchmarks/train_speed.py`, {time.strftime('%Y-%m-%d')}, "
             f"kanjo {kanjo.__version__}, CPU only, {os.cpu_count()} cores **shared with other "
             f"engineers' jobs** (load average {os.getloadavg()[0]:.1f} at the end): timings are "
             "noisy, one run each. JRTE pn train (3,888 rows) → dev (1,112), default encoder, "
             "4 epochs, lr 1e-4, batch 32, warm-up 0.1, weight decay 0.01, seed 42.", "",
             "| run | rows/s | final dev macro-F1 | time to it | total wall | peak RSS |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['rows_per_s']:.1f} | {r['final_f1']:.4f} | "
                     f"{r['time_to_final_f1']:.0f} s | {r['total_s']:.0f} s | "
                     f"{r['peak_rss_mb']:.0f} MB |")
    if "kanjo" in results and "notebook" in results:
        k, n = results["kanjo"], results["notebook"]
        reached = next((t for t, f1 in n["evals"] if f1 >= k["final_f1"]), None)
        if reached is not None:
            lines.append(f"\nThe notebook way reached kanjo's final F1 after {reached:.0f} s: "
                         f"kanjo was {reached / k['time_to_final_f1']:.1f}× faster to it.")
        else:
            stop = f" (stopped after {n['epochs_run']:g} epoch(s))" if notebook_epochs else ""
            lines.append(f"\nThe notebook way never reached kanjo's final F1 "
                         f"{k['final_f1']:.4f}{stop}: kanjo was ≥ "
                         f"{n['total_s'] / k['time_to_final_f1']:.1f}× faster to it.")
        lines.append(f"Notebook rows padded to {n['padded_to']} tokens; its evaluations "
                     "(s, F1): " + ", ".join(f"({t:.0f}, {f:.4f})" for t, f in n["evals"]) + ".")
    if "kanjo" in results and "kanjo-trimmed" in results:
        k, t = results["kanjo"], results["kanjo-trimmed"]
        lines.append(f"Trimming the vocabulary first: training {t['train_s']:.0f} s vs "
                     f"{k['train_s']:.0f} s ({k['train_s'] / t['train_s']:.2f}×), peak RSS "
                     f"{t['peak_rss_mb']:.0f} vs {k['peak_rss_mb']:.0f} MB, dev macro-F1 "
                     f"{t['final_f1']:.4f} vs {k['final_f1']:.4f}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
