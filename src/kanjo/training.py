"""Fine-tuning, top to bottom: data → labels → split → tokenised rows → Trainer → best model.

The run is assembled in a hidden ``.OUT.partial`` directory that also holds its checkpoints, so
a killed run continues with ``resume=True``; the finished model directory is renamed into place
in one step.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import kanjo
from kanjo.config import TrainConfig
from kanjo.data import LabelSet, Table, read_table, train_dev_split
from kanjo.data.pseudo_labels import add_pseudo_labels, read_pseudo_labels
from kanjo.errors import ConfigError, DataError
from kanjo.inference import (
    Classifier,
    TfidfBackend,
    TorchBackend,
    model_max_length,
    select_device,
)
from kanjo.storage import (
    check_writable_target,
    claim_work_dir,
    publish,
    sha256_file,
    work_dir,
)


@dataclass
class TrainingData:
    """The rows a run trains and selects on, with their label ids."""

    labels: LabelSet
    train: Table
    y_train: np.ndarray
    dev: Table | None
    y_dev: np.ndarray | None
    soft_train: np.ndarray | None = None
    pseudo: dict[str, Any] | None = None
    """Where the last ``pseudo["rows"]`` training rows came from, when they are pseudo-labels."""

    def describe(self) -> dict[str, Any]:
        def part(table: Table, y: np.ndarray) -> dict[str, Any]:
            return {"file": str(table.path), "sha256": sha256_file(table.path),
                    "rows": len(y), "label_counts": self.labels.counts(y)}

        gold = len(self.train) - (self.pseudo["rows"] if self.pseudo else 0)
        out = {"train": {**part(self.train, self.y_train[:gold]),
                         "soft_labels": self.soft_train is not None}}
        if self.pseudo:
            out["pseudo_labels"] = {**self.pseudo,
                                    "label_counts": self.labels.counts(self.y_train[gold:])}
        if self.dev is not None and self.y_dev is not None:
            out["dev"] = part(self.dev, self.y_dev)
        return out


def prepare_data(data: str | Path, config: TrainConfig) -> TrainingData:
    """Read, label and split the data as the config says."""
    options = dict(format=config.format, text_column=config.text_column,
                   label_column=config.label_column)
    table = read_table(data, **options)
    labels = LabelSet(tuple(config.labels)) if config.labels else LabelSet.infer(table)
    ids = labels.encode(table)
    soft = soft_targets(labels, table, config.soft_labels)
    dev_table = read_table(config.dev, **options) if config.dev else None
    train_idx, dev_idx = train_dev_split(table, ids, dev_table, config.dev_split, config.seed,
                                         tuple(config.train_splits))
    labels.check_classes(ids[train_idx], table)
    dev = dev_table if dev_table is not None else (
        table.subset(dev_idx) if dev_idx is not None else None)
    y_dev = labels.encode(dev) if dev is not None else None
    train, y_train = table.subset(train_idx), ids[train_idx]
    soft_train = soft[train_idx] if soft is not None else None
    if not config.pseudo_labels:
        return TrainingData(labels, train, y_train, dev, y_dev, soft_train)
    labelled = set(table.texts) | set(dev.texts if dev is not None else ())
    pseudo = read_pseudo_labels(config.pseudo_labels, labels, labelled, rows=config.pseudo_rows,
                                seed=config.seed, soft=config.soft_labels)
    train, y_train, soft_train = add_pseudo_labels(train, y_train, soft_train, pseudo)
    return TrainingData(labels, train, y_train, dev, y_dev, soft_train, pseudo.info)


def soft_targets(labels: LabelSet, table: Table, mode: bool | str) -> np.ndarray | None:
    """The rows' label distributions to train on: ``True`` requires a soft-label column
    (judges, soft_labels, label_distribution or probabilities), ``"auto"`` uses one when the
    data has it, ``False`` trains on the hard labels."""
    if not mode:
        return None
    soft = labels.encode_soft(table)
    if soft is None and mode is True:
        raise DataError("has no soft-label column (judges, soft_labels, label_distribution or "
                        "probabilities) for --soft-labels", file=table.path)
    return soft


def train(
    data: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    **options: Any,
) -> Classifier:
    """Train a classifier on a labelled file and write it to ``out``; returns it loaded.

    ``options`` are TrainConfig fields (``epochs=2``, ``model="tfidf"`` …) used when no
    ``config`` is given.
    """
    config = config or TrainConfig(**options)
    out = Path(out)
    if not resume:
        check_writable_target(out, overwrite)
    return fit(prepare_data(data, config), config, out, resume=resume, overwrite=overwrite)


def fit(prepared: TrainingData, config: TrainConfig, out: Path, *, resume: bool = False,
        overwrite: bool = False) -> Classifier:
    """Train on already prepared rows, calibrate on dev, and publish the model at ``out``."""
    started = time.time()
    meta: dict[str, Any] = {
        "kanjo_version": kanjo.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "base_model": config.model,
        "labels": list(prepared.labels.names),
        "config": config.to_dict(),
        "data": prepared.describe(),
    }
    if config.model == "tfidf":
        classifier = _fit_tfidf(prepared, config)
        staged = work_dir(out)
        if staged.exists():
            shutil.rmtree(staged)
        staged.mkdir(parents=True)
        train_seconds = time.time() - started
    else:
        classifier, staged, train_seconds = _finetune(prepared, config, out, resume, meta)
    classifier.meta.update(meta)
    if prepared.dev is not None:
        classifier.meta.update(_calibrate_and_score(classifier, prepared, config.calibrate))
    classifier.meta["timings"] = {"train_seconds": round(train_seconds, 1),
                                  "total_seconds": round(time.time() - started, 1)}
    model_dir = staged / "model"
    model_dir.mkdir(exist_ok=True)
    classifier.save_to(model_dir)
    if (staged / "logs").exists():
        shutil.move(str(staged / "logs"), model_dir / "logs")
    publish(model_dir, out, overwrite=overwrite or resume)
    shutil.rmtree(staged, ignore_errors=True)
    classifier.path = out
    return classifier


def _calibrate_and_score(classifier: Classifier, prepared: TrainingData,
                         calibrate: bool) -> dict[str, Any]:
    """Dev metrics; with ``calibrate``, first fit the temperature on the dev scores."""
    from kanjo.evaluation import calibration, classification_metrics, fit_temperature
    from kanjo.inference import softmax

    scores, _ = classifier.backend.logits(prepared.dev.texts, 64)
    out: dict[str, Any] = {}
    if calibrate:
        out["ece_uncalibrated"] = calibration(prepared.y_dev, softmax(scores))["ece"]
        classifier.temperature = fit_temperature(scores, prepared.y_dev)
    proba = softmax(scores, classifier.temperature)
    metrics = classification_metrics(prepared.y_dev, proba.argmax(axis=1),
                                     prepared.labels.names, proba)
    out["dev_metrics"] = _scalar_metrics(metrics)
    return out


def _scalar_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("n", "accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall",
            "weighted_precision", "weighted_recall", "ece", "per_class", "confusion_matrix")
    return {k: metrics[k] for k in keep if k in metrics}


def _fit_tfidf(prepared: TrainingData, config: TrainConfig) -> Classifier:
    from kanjo.models.tfidf import TfidfClassifier

    model = TfidfClassifier()
    model.fit(prepared.train.texts, prepared.y_train.tolist(), soft_targets=prepared.soft_train)
    return Classifier(TfidfBackend(model), prepared.labels)


def _rows(tokenizer: Any, texts: list[str], y: np.ndarray, soft: np.ndarray | None,
          max_length: int) -> tuple[list[dict[str, Any]], int]:
    from kanjo.tokenize import encode

    ids, cut = encode(tokenizer, texts, max_length)
    rows = [{"input_ids": seq, "labels": int(label)} for seq, label in zip(ids, y, strict=True)]
    if soft is not None:
        for row, dist in zip(rows, soft, strict=True):
            row["soft_labels"] = dist
    return rows, cut


class Collator:
    """Dynamic padding: each batch is padded to its own longest row."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        batch = self.tokenizer.pad({"input_ids": [r["input_ids"] for r in rows]},
                                   return_tensors="pt")
        batch["labels"] = torch.tensor([r["labels"] for r in rows])
        if "soft_labels" in rows[0]:
            batch["soft_labels"] = torch.tensor(np.stack([r["soft_labels"] for r in rows]))
        return dict(batch)


def _load_base(config: TrainConfig, labels: LabelSet) -> tuple[Any, Any]:
    """The base encoder with a fresh classification head for ``labels``, and its tokenizer."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from kanjo.models.resolve import load_error, resolve

    source = resolve(config.model)
    if source.kind == "tfidf":
        raise ConfigError("tfidf is not a transformer")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.location)
        model = AutoModelForSequenceClassification.from_pretrained(
            source.location,
            num_labels=len(labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
            ignore_mismatched_sizes=True,
        )
    except (OSError, ValueError) as exc:
        raise load_error(source, exc) from None
    base = model.base_model
    if config.freeze_encoder:
        for parameter in base.parameters():
            parameter.requires_grad = False
    elif config.freeze_embeddings:
        base.get_input_embeddings().weight.requires_grad = False
    return model, tokenizer


def _finetune(prepared: TrainingData, config: TrainConfig, out: Path, resume: bool,
              meta: dict[str, Any]) -> tuple[Classifier, Path, float]:
    import torch
    from torch.utils.tensorboard import SummaryWriter
    from transformers import EarlyStoppingCallback, TrainingArguments, set_seed
    from transformers.integrations import TensorBoardCallback
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-checkpoint "Writing model shards" bars

    work = work_dir(out)
    run_key = {"config": meta["config"], "data": meta["data"]}
    claim_work_dir(work, run_key, resume)
    set_seed(config.seed)
    model, tokenizer = _load_base(config, prepared.labels)
    max_length = model_max_length(model, tokenizer, config.max_length)
    train_rows, cut = _rows(tokenizer, prepared.train.texts, prepared.y_train,
                            prepared.soft_train, max_length)
    dev_rows = None
    if prepared.dev is not None:
        dev_rows, _ = _rows(tokenizer, prepared.dev.texts, prepared.y_dev, None, max_length)
    meta["truncated_train_rows"] = cut
    has_dev = dev_rows is not None
    device = select_device(config.device)
    epochs, eval_steps = schedule(len(train_rows), config)
    meta["schedule"] = {"epochs": epochs, "eval_steps": eval_steps}
    args = TrainingArguments(
        output_dir=str(work / "checkpoints"),
        num_train_epochs=epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=max(64, config.batch_size),
        learning_rate=config.lr,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup,
        lr_scheduler_type="linear",
        eval_strategy="steps" if has_dev else "no",
        save_strategy="steps",
        eval_steps=eval_steps,
        save_steps=eval_steps,
        save_total_limit=1,
        load_best_model_at_end=has_dev,
        metric_for_best_model="macro_f1" if has_dev else None,
        greater_is_better=True,
        logging_steps=max(1, min(50, len(train_rows) // config.batch_size // 4)),
        report_to="none",
        seed=config.seed,
        train_sampling_strategy="group_by_length",
        use_cpu=device == "cpu",
        bf16=device.startswith("cuda") and torch.cuda.is_bf16_supported(),
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    callbacks: list[Any] = [TensorBoardCallback(SummaryWriter(str(work / "logs")))]
    if has_dev and config.early_stopping:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping))
    averager = None
    if config.average_checkpoints > 1:
        from kanjo.averaging import WeightAverager

        averager = WeightAverager(config.average_checkpoints)
        callbacks.append(averager)
    names = prepared.labels.names
    weights = class_weights(prepared.y_train, len(names), config.class_weight)
    meta["class_weights"] = weights
    optimizer = torch.optim.AdamW(parameter_groups(model, config.lr, config.weight_decay,
                                                   config.layer_decay))
    trainer = _make_loss_trainer(weights, config.label_smoothing, config.rdrop)(
        model=model,
        optimizers=(optimizer, None),
        args=args,
        train_dataset=train_rows,
        eval_dataset=dev_rows,
        data_collator=Collator(tokenizer),
        processing_class=tokenizer,
        compute_metrics=lambda p: _trainer_metrics(p, names),
        callbacks=callbacks,
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from kanjo.progress import KanjoProgress

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(KanjoProgress())
    checkpoint = _last_complete_checkpoint(work / "checkpoints") if resume else None
    started = time.time()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if averager is not None:
        from kanjo.averaging import keep_better_average

        meta["checkpoint_average"] = keep_better_average(trainer, averager)
    seconds = time.time() - started
    meta["train_steps"] = trainer.state.global_step
    meta["best_checkpoint"] = trainer.state.best_model_checkpoint and Path(
        trainer.state.best_model_checkpoint).name
    model = trainer.model.to("cpu") if device != "cpu" else trainer.model
    backend = TorchBackend(model, tokenizer, max_length, config.device)
    shutil.rmtree(work / "checkpoints", ignore_errors=True)
    return Classifier(backend, prepared.labels), work, seconds


def schedule(n_rows: int, config: TrainConfig) -> tuple[float, int]:
    """Epochs (raised so that at least ``min_steps`` steps run) and the evaluation interval:
    every epoch, but no more than about 8 evaluations (and checkpoints) a run."""
    per_epoch = math.ceil(n_rows / config.batch_size)
    epochs = max(config.epochs, config.min_steps / per_epoch)
    total = math.ceil(per_epoch * epochs)
    eval_steps = config.eval_steps or max(per_epoch, math.ceil(total / 8))
    return round(epochs, 3), min(eval_steps, total)


def _last_complete_checkpoint(directory: Path) -> Path | None:
    """The newest checkpoint that was fully written (a kill can interrupt a save: such a
    half-written checkpoint is removed)."""
    found = sorted(directory.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    for candidate in reversed(found):
        try:  # written last, so a parsable state means the checkpoint is complete
            json.loads((candidate / "trainer_state.json").read_text(encoding="utf-8"))
            return candidate
        except (OSError, ValueError):
            shutil.rmtree(candidate, ignore_errors=True)
    return None


def _trainer_metrics(prediction: Any, names: tuple[str, ...]) -> dict[str, float]:
    from kanjo.evaluation import classification_metrics

    logits = prediction.predictions
    metrics = classification_metrics(prediction.label_ids, np.argmax(logits, axis=-1), names)
    return {k: metrics[k] for k in ("accuracy", "macro_f1", "weighted_f1")}


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> list[float] | None:
    """Per-class loss weights: 'balanced' gives each class total / (k × count)."""
    if mode == "none":
        return None
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return (len(y) / (n_classes * np.maximum(counts, 1))).round(6).tolist()


def parameter_groups(model: Any, lr: float, weight_decay: float,
                     layer_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases and LayerNorm; with ``layer_decay`` < 1 the
    learning rate shrinks geometrically from the head down to the embeddings."""
    n_layers = model.config.num_hidden_layers
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
        no_decay = name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
        key = (lr * layer_decay**depth, 0.0 if no_decay else weight_decay)
        groups.setdefault(key, []).append(parameter)
    return [{"params": params, "lr": group_lr, "weight_decay": decay}
            for (group_lr, decay), params in groups.items()]


def rdrop_divergence(logits: Any) -> Any:
    """R-Drop's regulariser: the symmetric KL divergence between the two halves of ``logits``
    (two dropout passes over the same batch), averaged over the rows."""
    import torch.nn.functional as F

    first, second = F.log_softmax(logits, dim=-1).chunk(2)
    forward = F.kl_div(second, first, log_target=True, reduction="batchmean")
    backward = F.kl_div(first, second, log_target=True, reduction="batchmean")
    return (forward + backward) / 2


def _make_loss_trainer(weights: list[float] | None, label_smoothing: float,
                       rdrop: float = 0.0) -> type:
    import torch
    import torch.nn.functional as F
    from transformers import Trainer

    class LossTrainer(Trainer):
        """Cross-entropy against hard labels or per-row label distributions, optionally
        class-weighted and label-smoothed, and with R-Drop (each batch passed twice, the two
        predictions pulled together); training only, the evaluation loss stays plain."""

        loss_is_scaled_for_ga = False

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            soft = inputs.pop("soft_labels", None)
            if not model.training:
                outputs = model(**inputs)
                loss = F.cross_entropy(outputs.logits.float(), labels)
                return (loss, outputs) if return_outputs else loss
            target = soft.float() if soft is not None else labels
            twice = rdrop > 0
            if twice:
                inputs = {k: torch.cat([v, v]) for k, v in inputs.items()}
                target = torch.cat([target, target])
            outputs = model(**inputs)
            logits = outputs.logits.float()
            weight = torch.tensor(weights, device=logits.device) if weights else None
            loss = F.cross_entropy(logits, target, weight=weight,
                                   label_smoothing=label_smoothing)
            if twice:
                loss = loss + rdrop * rdrop_divergence(logits)
            return (loss, outputs) if return_outputs else loss

    return LossTrainer
