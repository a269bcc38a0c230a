"""Fine-tuning, top to bottom: prepared rows → tokenised rows → ``LossTrainer`` → best model →
calibration on dev → the published model directory.

The run is assembled in a hidden ``.OUT.partial`` directory that also holds its checkpoints, so
a killed run continues with ``resume=True``; the finished model directory is renamed into place
in one step.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.config import TrainConfig
from kanjo.data.normalize import NORMALIZATION
from kanjo.data.targets import Targets
from kanjo.errors import ConfigError, KanjoError
from kanjo.evaluation.calibration import calibration, fit_temperature, softmax
from kanjo.evaluation.metrics import classification_metrics
from kanjo.evaluation.regression_metrics import REGRESSION_KEYS, regression_metrics
from kanjo.inference.classifier import Classifier
from kanjo.inference.tfidf_backend import TfidfBackend
from kanjo.inference.torch_backend import TorchBackend
from kanjo.models.devices import model_max_length, select_device
from kanjo.storage import check_writable_target, claim_work_dir, publish, work_dir
from kanjo.training import distributed
from kanjo.training.embeddings import describe_embeddings, fit_embeddings
from kanjo.training.prepare import TrainingData, prepare_data
from kanjo.training.recipe import choose_recipe
from kanjo.training.run_meta import run_metadata

CHECKPOINT_STATE = "trainer_state.json"  # Trainer writes it last: a complete checkpoint
MIN_CALIBRATION_ROWS = 50
"""Fewest dev rows on which a temperature is fitted and checkpoints are selected."""


@dataclass
class FinetuneResult:
    """What one fine-tuning run produced: the model (on the CPU), and what kanjo.json records
    about the run."""

    classifier: Classifier
    seconds: float
    """Wall-clock seconds of ``Trainer.train``."""
    info: dict[str, Any] = field(default_factory=dict)
    """truncated_train_rows, schedule, class_weights, train_steps, best_checkpoint and, with
    checkpoint averaging, checkpoint_average."""


def train(
    data: Any,
    out: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    **options: Any,
) -> Classifier:
    """Train a classifier on labelled data and write it to ``out``; returns it loaded.

    ``data``: a CSV/TSV/JSONL/JRTE file, a pandas DataFrame, a list of ``(text, label)`` pairs
    or ``(texts, labels)`` (see :func:`kanjo.data.inputs.as_table`).

    ``options`` are TrainConfig fields (``epochs=2``, ``model="tfidf"`` …) used when no
    ``config`` is given. Raises :class:`~kanjo.errors.KanjoError` subclasses for bad data,
    options or models, before any training starts.
    """
    config = config or TrainConfig(**options)
    out = Path(out)
    if not resume:
        check_writable_target(out, overwrite)
    return fit(prepare_data(data, config), config, out, resume=resume, overwrite=overwrite)


def fit(prepared: TrainingData, config: TrainConfig, out: Path, *, resume: bool = False,
        overwrite: bool = False) -> Classifier:
    """Train on already prepared rows, calibrate on dev, and publish the model at ``out``.

    Under ``torchrun``/``accelerate launch`` (:mod:`kanjo.training.distributed`) every process
    trains its share of each global batch; rank 0 alone claims the work directory, prints,
    logs, calibrates and publishes, while the others wait for it and return their in-memory
    model (its ``path`` None: they write nothing)."""
    started = time.time()
    distributed.init_process_group()
    meta = run_metadata(config.model, config.to_dict(), prepared.describe(),
                        labels=list(prepared.labels.names), text_normalization=NORMALIZATION,
                        **task_meta(prepared))
    recipe, reason = choose_recipe(config, len(prepared.train),
                                   pairs=prepared.train.text_pairs is not None)
    meta["recipe"] = {"name": recipe, "reason": reason}
    meta["distributed"] = distributed.describe(config.batch_size)
    work = work_dir(out)
    if recipe in ("tfidf", "embeddings") and distributed.world_size() > 1:
        raise ConfigError(f"the {recipe} recipe trains in one process, not under a launcher "
                          f"({distributed.world_size()} processes)",
                          hint="run it without torchrun/accelerate, or pass --recipe finetune")
    info: dict[str, Any] = {}
    if recipe in ("tfidf", "embeddings"):
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        try:
            if recipe == "tfidf":
                head = "ridge regression" if prepared.labels.task == "regression" \
                    else "logistic regression"
                print(run_summary(prepared, config, f"TF-IDF character n-grams + {head}"),
                      file=sys.stderr, flush=True)
                classifier = _fit_tfidf(prepared)
                train_seconds = time.time() - started
            else:
                print(run_summary(prepared, config, describe_embeddings(prepared, config)),
                      file=sys.stderr, flush=True)
                classifier, info, train_seconds = fit_embeddings(prepared, config)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)  # these recipes have nothing to resume
            raise
    else:
        fresh = not work.exists()
        run_key = {"config": meta["config"], "data": meta["data"]}
        distributed.on_main_first(lambda: claim_work_dir(work, run_key, resume))
        try:
            result = finetune(prepared, config, work, resume)
        except KanjoError:
            if distributed.is_main_process() and (fresh or not (work / "checkpoints").exists()):
                shutil.rmtree(work, ignore_errors=True)  # nothing to resume: leave nothing
            raise
        classifier, info, train_seconds = result.classifier, result.info, result.seconds
        if not distributed.is_main_process():
            distributed.barrier()  # rank 0 calibrates and publishes; the others write nothing
            return classifier
    classifier.meta.update(meta)
    classifier.meta.update(info)
    if prepared.dev is not None:
        # the embeddings recipe is calibrated by cross-fitting: its dev rows are only scored
        classifier.meta.update(_calibrate_and_score(
            classifier, prepared, config.calibrate and recipe != "embeddings"))
    classifier.meta["timings"] = {"train_seconds": round(train_seconds, 1),
                                  "total_seconds": round(time.time() - started, 1)}
    model_dir = work / "model"
    shutil.rmtree(model_dir, ignore_errors=True)  # what a killed run had staged
    model_dir.mkdir()
    classifier.save_to(model_dir)
    if (work / "logs").exists():
        shutil.move(str(work / "logs"), model_dir / "logs")
    publish(model_dir, out, overwrite=overwrite or resume)
    shutil.rmtree(work, ignore_errors=True)
    classifier.path = out
    distributed.barrier()  # the other ranks wait for the published model
    return classifier


def _calibrate_and_score(classifier: Classifier, prepared: TrainingData,
                         calibrate: bool) -> dict[str, Any]:
    """Dev metrics; with ``calibrate``, first fit the temperature on the dev scores — unless dev
    has fewer than :data:`MIN_CALIBRATION_ROWS` rows, where a fitted temperature runs to its
    bound (6 dev rows gave T = 0.05 and top probabilities of 0.998 at 76 % accuracy); then the
    temperature stays 1 and ``calibration`` in kanjo.json says why. A torch model gets the
    temperature folded into its head (kanjo.json's ``temperature`` is then 1: nothing is left
    to apply at prediction); the other backends keep it in kanjo.json. When the temperature was
    fitted on the dev rows, ``dev_metrics`` grades calibration on the rows it was fitted on:
    ``dev_metrics_note`` says so."""
    scores, _ = classifier.backend.logits(prepared.dev.inputs, 64)
    if prepared.labels.task == "multi-label":
        return _thresholds_and_score(classifier, prepared, scores)
    out: dict[str, Any] = {}
    if prepared.labels.task == "regression":
        out["calibration"] = {"method": None, "reason": "a regression has no class "
                              "probabilities to calibrate"}
        out["dev_metrics"] = regression_metrics(prepared.y_dev, scores[:, 0])
        return out
    if calibrate and len(prepared.y_dev) < MIN_CALIBRATION_ROWS:
        out["calibration"] = {"method": None, "reason": f"skipped: the dev set has "
                              f"{len(prepared.y_dev)} rows (< {MIN_CALIBRATION_ROWS})"}
    elif calibrate:
        out["ece_uncalibrated"] = calibration(prepared.y_dev, softmax(scores))["ece"]
        temperature = fit_temperature(scores, prepared.y_dev)
        folded = isinstance(classifier.backend, TorchBackend)
        out["calibration"] = {"method": "temperature", "temperature": temperature,
                              "fitted_on_dev_rows": len(prepared.y_dev), "in_head": folded}
        if folded:
            classifier.backend.fold_temperature(temperature)
            scores = scores / temperature
        else:
            classifier.temperature = temperature
        out["dev_metrics_note"] = "ece is measured on the dev rows the temperature was fitted on"
    proba = softmax(scores, classifier.temperature)
    metrics = classification_metrics(prepared.y_dev, proba.argmax(axis=1),
                                     prepared.labels.names, proba)
    out["dev_metrics"] = _scalar_metrics(metrics)
    return out


def task_meta(prepared: TrainingData) -> dict[str, Any]:
    """What kanjo.json records of the task: ``task``, whether the inputs are ``pairs`` and,
    for a regression, the training ``target_range`` [low, high]."""
    out: dict[str, Any] = {"task": prepared.labels.task,
                           "pairs": prepared.train.text_pairs is not None}
    if out["task"] == "regression":
        out["target_range"] = [prepared.labels.low, prepared.labels.high]
    return out
def _thresholds_and_score(classifier: Classifier, prepared: TrainingData,
                          scores: np.ndarray) -> dict[str, Any]:
    """Multi-label: each label's decision threshold chosen on the dev scores
    (:func:`~kanjo.evaluation.multi_label.choose_thresholds`, stored in kanjo.json
    ``thresholds``), then the dev metrics at those thresholds. No temperature: the labels'
    sigmoids are scored as they are (per-label ECE in ``dev_metrics``)."""
    from kanjo.evaluation.multi_label import DEFAULT_THRESHOLD, choose_thresholds

    proba = classifier.probabilities(scores)
    thresholds, how = choose_thresholds(prepared.y_dev, proba)
    classifier.meta["thresholds"] = thresholds
    metrics = classifier.rule.metrics(prepared.y_dev, proba, prepared.labels.names)
    return {"thresholds_selection": {**how, "dev_rows": len(prepared.y_dev)},
            "calibration": {"method": None, "reason": "multi-label: temperature scaling "
                            "calibrates a softmax; each label's sigmoid is left as trained "
                            "(dev_metrics.per_label.*.ece measures it)"},
            "dev_metrics": _scalar_metrics(metrics),
            "dev_metrics_note": "measured at the thresholds chosen on these dev rows"
            if any(how["tuned"]) else f"every label kept the {DEFAULT_THRESHOLD} threshold "
            f"(fewer than {how['min_positives']} dev positives each)"}


def _scalar_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("task", "n", "accuracy", "macro_f1", "weighted_f1", "macro_precision",
            "macro_recall", "weighted_precision", "weighted_recall", "micro_f1",
            "micro_precision", "micro_recall", "subset_accuracy", "hamming_loss", "ece",
            "per_class", "per_label", "thresholds", "confusion_matrix")
    return {k: metrics[k] for k in keep if k in metrics}


def _fit_tfidf(prepared: TrainingData) -> Classifier:
    from kanjo.models.tfidf import TfidfClassifier
    from kanjo.models.tfidf_regression import TfidfRegressor

    inputs = prepared.train.inputs
    if prepared.labels.task == "regression":
        return Classifier(TfidfBackend(TfidfRegressor().fit(inputs, prepared.y_train)),
                          prepared.labels)
    if prepared.labels.task == "multi-label":  # one logistic regression per label
        model = TfidfClassifier().fit(inputs, label_sets=prepared.y_train)
        return Classifier(TfidfBackend(model), prepared.labels)
    # targets over every label id, so that predict_proba's columns are the LabelSet's even if a
    # class were missing from the training rows (fit then raises instead of shifting columns)
    targets = prepared.soft_train if prepared.soft_train is not None else np.eye(
        len(prepared.labels))[prepared.y_train]
    model = TfidfClassifier().fit(inputs, soft_targets=targets)
    return Classifier(TfidfBackend(model), prepared.labels)


def finetune(prepared: TrainingData, config: TrainConfig, work: Path,
             resume: bool = False) -> FinetuneResult:
    """Fine-tune ``config.model`` on the prepared rows with checkpoints in ``work``; with
    ``resume``, continue from the last complete checkpoint there. The best checkpoint by dev
    macro-F1 (a regression: by dev Pearson) is the result when there are at least
    :data:`MIN_CALIBRATION_ROWS` dev rows; else the last step (``info["checkpoint_selection"]``
    says which)."""
    import torch
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    from kanjo.data.batching import Collator
    from kanjo.training.checkpoints import last_complete_checkpoint, remove_checkpoints
    from kanjo.training.losses import class_weights
    from kanjo.training.optimizer import parameter_groups
    from kanjo.training.trainer import LossTrainer

    hf_logging.disable_progress_bar()  # per-checkpoint "Writing model shards" bars
    task = TASK_TRAINING[prepared.labels.task]
    regression = prepared.labels.task == "regression"
    if regression:
        _check_regression_options(config)
    set_seed(config.seed)
    model, tokenizer = _load_base(config, prepared.labels)
    max_length = model_max_length(model, tokenizer, config.max_length)
    train_rows, cut = _rows(tokenizer, prepared.train.inputs, prepared.y_train,
                            prepared.soft_train, max_length)
    dev_rows = None
    selection = "none: no dev set, the last step is kept"
    if prepared.dev is not None and len(prepared.y_dev) < MIN_CALIBRATION_ROWS:
        # on a handful of rows the first barely trained checkpoint often scores 1.0: keep the
        # last step instead (the dev rows are still scored after training)
        selection = (f"none: the dev set has {len(prepared.y_dev)} rows (< "
                     f"{MIN_CALIBRATION_ROWS}), the last step is kept")
    elif prepared.dev is not None:
        dev_rows, _ = _rows(tokenizer, prepared.dev.inputs, prepared.y_dev, None, max_length)
        selection = f"best dev {task.best_name} of the evaluated checkpoints"
    device = select_device(config.device)
    epochs, eval_steps = schedule(len(train_rows), config)
    weights = None if regression else class_weights(prepared.y_train, len(prepared.labels),
                                                    config.class_weight)
    info: dict[str, Any] = {"truncated_train_rows": cut,
                            "schedule": {"epochs": epochs, "eval_steps": eval_steps},
                            "class_weights": weights, "checkpoint_selection": selection}
    callbacks, averager = _callbacks(config, work, has_dev=dev_rows is not None)
    main = distributed.is_main_process()
    optimizer = torch.optim.AdamW(parameter_groups(model, config.lr, config.weight_decay,
                                                   config.layer_decay))
    names = prepared.labels.names
    trainer = LossTrainer(
        model=model,
        optimizers=(optimizer, None),
        args=_training_arguments(config, work, epochs, eval_steps, len(train_rows),
                                 dev_rows is not None, device,
                                 task.best_metric),
        train_dataset=train_rows,
        eval_dataset=dev_rows,
        data_collator=Collator(tokenizer),
        processing_class=tokenizer,
        compute_metrics=lambda p: task.trainer_metrics(p, names),
        callbacks=callbacks,
        class_weights=weights,
        label_smoothing=config.label_smoothing,
        rdrop=config.rdrop,
    )
    total = math.ceil(math.ceil(len(train_rows) / config.batch_size) * epochs)
    _use_kanjo_progress(trainer, run_summary(
        prepared, config, f"{epochs:g} epochs = {total} steps of {config.batch_size} rows, "
        f"lr {config.lr:g}, dev evaluation every {eval_steps} steps, max length {max_length} "
        f"tokens, device {device}"))
    # rank 0 removes a half-written checkpoint before any rank picks the one to resume from
    distributed.on_main_first(lambda: last_complete_checkpoint(
        work / "checkpoints", "checkpoint", CHECKPOINT_STATE) if resume else None)
    checkpoint = last_complete_checkpoint(work / "checkpoints", "checkpoint",
                                          CHECKPOINT_STATE) if resume else None
    started = time.time()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if averager is not None:
        from kanjo.training.averaging import keep_better_average

        info["checkpoint_average"] = keep_better_average(trainer, averager)
    seconds = time.time() - started
    info["train_steps"] = trainer.state.global_step
    info["best_checkpoint"] = trainer.state.best_model_checkpoint and Path(
        trainer.state.best_model_checkpoint).name
    model = trainer.model.to("cpu") if device != "cpu" else trainer.model
    if main:  # rank 0 alone removes the checkpoints
        remove_checkpoints(work / "checkpoints", "checkpoint", CHECKPOINT_STATE)
    backend = TorchBackend(model, tokenizer, max_length, config.device)
    return FinetuneResult(Classifier(backend, prepared.labels), seconds, info)


def _check_regression_options(config: TrainConfig) -> None:
    """The classification-only options, refused for a regression (they would be ignored)."""
    given = [flag for flag, on in (("--class-weight balanced", config.class_weight != "none"),
                                   ("--label-smoothing", config.label_smoothing > 0),
                                   ("--rdrop", config.rdrop > 0)) if on]
    if given:
        raise ConfigError(f"{', '.join(given)} apply to classification, not to a regression "
                          "(one numeric output fitted by mean squared error)")


def _training_arguments(config: TrainConfig, work: Path, epochs: float, eval_steps: int,
                        n_rows: int, has_dev: bool, device: str,
                        best_metric: str = "macro_f1") -> Any:
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(work / "checkpoints"),
        num_train_epochs=epochs,
        per_device_train_batch_size=distributed.per_device_batch(config.batch_size),
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
        metric_for_best_model=best_metric if has_dev else None,
        greater_is_better=True,
        logging_steps=max(1, min(50, n_rows // config.batch_size // 4)),
        report_to="none",
        seed=config.seed,
        train_sampling_strategy="group_by_length",
        use_cpu=device == "cpu",
        bf16=device.startswith("cuda") and torch.cuda.is_bf16_supported(),
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )


def _callbacks(config: TrainConfig, work: Path, has_dev: bool) -> tuple[list[Any], Any]:
    """TensorBoard logging, early stopping (with dev data) and the checkpoint averager."""
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    from kanjo.training.early_stopping import PlateauAwareEarlyStopping

    # one set of logs: rank 0 alone writes TensorBoard events
    callbacks: list[Any] = [TensorBoardCallback(SummaryWriter(str(work / "logs")))] \
        if distributed.is_main_process() else []
    if has_dev and config.early_stopping:
        callbacks.append(PlateauAwareEarlyStopping(early_stopping_patience=config.early_stopping))
    averager = None
    if config.average_checkpoints > 1:
        from kanjo.training.averaging import WeightAverager

        averager = WeightAverager(config.average_checkpoints)
        callbacks.append(averager)
    return callbacks, averager


def _use_kanjo_progress(trainer: Any, summary: str) -> None:
    """One kanjo progress bar instead of Trainer's bar and its printed log dicts, after a
    summary of the run."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from kanjo.training.progress import KanjoProgress

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(KanjoProgress(summary))


def run_summary(prepared: TrainingData, config: TrainConfig, plan: str) -> str:
    """What is about to be trained, in one paragraph: rows per label, the dev rows and where
    they came from, the targets, and ``plan`` (the schedule)."""
    counts = prepared.labels.counts(prepared.y_train)
    labels = ", ".join(f"{name} {n}" for name, n in counts.items())
    if prepared.dev is None:
        dev = "no dev rows (no checkpoint selection, no calibration)"
    elif config.dev:
        dev = f"{len(prepared.dev)} dev rows from {config.dev}"
    elif prepared.dev.splits and set(prepared.dev.splits) == {"dev"}:
        dev = f"{len(prepared.dev)} dev rows (the split column's dev rows)"
    else:
        dev = f"{len(prepared.dev)} dev rows (a stratified {config.dev_split:g} held out)"
    targets = "label distributions (soft labels)" if prepared.soft_train is not None \
        else TASK_TRAINING[prepared.labels.task].targets
    return (f"training {config.model} on {len(prepared.y_train)} rows ({labels}); {dev}; "
            f"targets: {targets}; {plan}")


def _rows(tokenizer: Any, texts: list[str] | list[tuple[str, str]], y: np.ndarray,
          soft: np.ndarray | None, max_length: int) -> tuple[list[dict[str, Any]], int]:
    """Tokenised training rows: ``input_ids`` (with ``token_type_ids`` for pairs where the
    tokenizer makes them), ``labels`` (class id, or a float target) and ``soft_labels``."""
    from kanjo.models.tokenize import encode_inputs

    ids, types, cut = encode_inputs(tokenizer, texts, max_length)
    cast = float if np.issubdtype(y.dtype, np.floating) else int  # a value, or a class id
    rows = [{"input_ids": seq, "labels": label.tolist() if np.ndim(label) else cast(label)}
            for seq, label in zip(ids, y, strict=True)]  # a multi-hot row: --task multi-label
    for row, segments in zip(rows, types or (), strict=False):
        row["token_type_ids"] = segments
    if soft is not None:
        for row, dist in zip(rows, soft, strict=True):
            row["soft_labels"] = dist
    return rows, cut


def _load_base(config: TrainConfig, labels: Targets) -> tuple[Any, Any]:
    """The base encoder with a fresh classification head for ``labels``, and its tokenizer.
    config.json's ``problem_type`` is the task's (``labels.problem_type``): transformers'
    ``pipeline("text-classification")`` then applies a sigmoid per label to a multi-label
    model and returns a regression's raw value."""
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
            problem_type=labels.problem_type,
            ignore_mismatched_sizes=True,
        )
    except Exception as exc:  # transformers, safetensors and tokenizers each raise their own
        raise load_error(source, exc) from exc
    base = model.base_model
    if config.freeze_encoder:
        for parameter in base.parameters():
            parameter.requires_grad = False
    elif config.freeze_embeddings:
        base.get_input_embeddings().weight.requires_grad = False
    return model, tokenizer


def schedule(n_rows: int, config: TrainConfig) -> tuple[float, int]:
    """Epochs (raised so that at least ``min_steps`` steps run) and the evaluation interval:
    every epoch, but no more than about 8 evaluations (and checkpoints) a run."""
    per_epoch = math.ceil(n_rows / config.batch_size)
    epochs = max(config.epochs, config.min_steps / per_epoch)
    total = math.ceil(per_epoch * epochs)
    eval_steps = config.eval_steps or max(per_epoch, math.ceil(total / 8))
    return round(epochs, 3), min(eval_steps, total)


def _regression_trainer_metrics(prediction: Any, names: tuple[str, ...]) -> dict[str, float]:
    metrics = regression_metrics(prediction.label_ids, np.asarray(prediction.predictions)[:, 0])
    # a constant prediction (early in training) has no correlation: the worst score
    return {k: -1.0 if metrics[k] is None else metrics[k] for k in REGRESSION_KEYS}


def _multi_label_trainer_metrics(prediction: Any, names: tuple[str, ...]) -> dict[str, float]:
    """Checkpoints are compared at the default thresholds (the tuned ones come after)."""
    from kanjo.evaluation.multi_label import DEFAULT_THRESHOLD, multi_label_metrics, sigmoid

    metrics = multi_label_metrics(prediction.label_ids,
                                  sigmoid(prediction.predictions) >= DEFAULT_THRESHOLD, names)
    return {k: metrics[k] for k in ("subset_accuracy", "micro_f1", "macro_f1")}


def _trainer_metrics(prediction: Any, names: tuple[str, ...]) -> dict[str, float]:
    logits = prediction.predictions
    metrics = classification_metrics(prediction.label_ids, np.argmax(logits, axis=-1), names)
    return {k: metrics[k] for k in ("accuracy", "macro_f1", "weighted_f1")}


@dataclass(frozen=True)
class TaskTraining:
    """How fine-tuning treats a task: the dev metric that selects the checkpoint
    (``best_metric``, named ``best_name`` in kanjo.json), the trainer's dev metrics, and how the
    run summary names the targets."""

    best_metric: str
    best_name: str
    trainer_metrics: Callable[[Any, tuple[str, ...]], dict[str, float]]
    targets: str


TASK_TRAINING = {
    "classification": TaskTraining("macro_f1", "macro-F1", _trainer_metrics, "hard labels"),
    "multi-label": TaskTraining("macro_f1", "macro-F1", _multi_label_trainer_metrics,
                                "label sets (multi-label)"),
    "regression": TaskTraining("pearson", "Pearson", _regression_trainer_metrics,
                               "numeric values (mean squared error)"),
}
"""task → :class:`TaskTraining`."""
