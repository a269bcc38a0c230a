"""The embeddings recipe: frozen encoder → mean-pooled sentence vectors (a sentence pair:
:data:`~kanjo.models.sentence_encoder.PAIR_FEATURES` of both texts' vectors) → a cross-fitted,
calibrated logistic-regression head (:mod:`kanjo.training.embedding_head`); then, for single
texts with one label each (``tune_encoder``), the encoder and the head fine-tuned together from
that head, calibrated by cross-fitted runs (LP-FT, :mod:`kanjo.training.encoder_tuning`).

There is no checkpoint to select on a dev set: C and both temperatures come from
cross-validation on the training rows, and the dev rows are only scored. Frozen, a run takes the
time of one forward pass over the training rows; LP-FT adds about three fine-tunes of a few
hundred steps (about 2 steps/s for the default encoder on two CPU cores).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from kanjo.config import TrainConfig
from kanjo.errors import warn_data
from kanjo.inference.classifier import Classifier
from kanjo.inference.embedding_backend import EmbeddingBackend
from kanjo.models.sentence_encoder import E5_PREFIX, PAIR_FEATURES, SentenceEncoder
from kanjo.training.embedding_head import fit_head, fit_multi_label_head
from kanjo.training.encoder_tuning import FOLDS, tune_encoder
from kanjo.training.prepare import TrainingData
from kanjo.training.similarity_tuning import fit_similarity
from kanjo.training.similarity_tuning import schedule as similarity_schedule


def fit_embeddings(prepared: TrainingData, config: TrainConfig) -> tuple[Classifier,
                                                                           dict[str, Any], float]:
    """(classifier, what kanjo.json records about the run, seconds). The default encoder (e5)
    gets its ``query: `` prefix; other encoders none. Soft labels (``soft_labels``) weight the
    head's rows by their vote shares; pseudo-labelled rows are trained on like gold rows.
    Raises ModelError if the encoder cannot load."""
    from kanjo.models.resolve import load_error, resolve

    started = time.time()
    source = resolve(config.model)
    prefix = E5_PREFIX if source.kind == "default" else ""
    try:
        encoder = SentenceEncoder.load(source.location, config.max_length, prefix, config.device)
    except Exception as exc:  # transformers, safetensors and tokenizers each raise their own
        raise load_error(source, exc) from exc
    tuning, reason = _tuning_plan(prepared, config)
    if prepared.labels.task == "regression":  # sentence pairs (choose_recipe)
        head, tuned, cut = fit_similarity(encoder, prepared.train.inputs, prepared.y_train,
                                          config.seed, tuning, config.freeze_embeddings)
        return _embedding_classifier(encoder, head, prepared, config, tuned, cut, started)
    vectors, cut = encoder.embed_inputs(prepared.train.inputs, max(64, config.batch_size))
    if prepared.y_train.ndim == 2:  # multi-hot targets: --task multi-label
        head = fit_multi_label_head(vectors, prepared.y_train, seed=config.seed, prefix=prefix)
    else:
        head = fit_head(vectors, prepared.y_train, len(prepared.labels), seed=config.seed,
                        prefix=prefix, calibrate=config.calibrate, soft=prepared.soft_train)
    if prepared.train.text_pairs is not None:
        head = dataclasses.replace(head, features=PAIR_FEATURES)
    if not tuning:
        _warn_if_chance(head, prepared)
    if tuning:
        head, tuned = tune_encoder(encoder, head, vectors, prepared.train.inputs,
                                   prepared.y_train, prepared.soft_train, config.seed,
                                   config.calibrate, config.freeze_embeddings)
    else:
        tuned = {"method": None, "reason": reason}
    return _embedding_classifier(encoder, head, prepared, config, tuned, cut, started)


def _embedding_classifier(encoder: SentenceEncoder, head: Any, prepared: TrainingData,
                          config: TrainConfig, tuned: dict[str, Any], cut: int,
                          started: float) -> tuple[Classifier, dict[str, Any], float]:
    """fit_embeddings' result: the classifier on the CPU and kanjo.json's record of it."""
    encoder.model.to("cpu")
    encoder.device = "cpu"
    classifier = Classifier(EmbeddingBackend(encoder, head), prepared.labels)
    info: dict[str, Any] = {
        "truncated_train_rows": cut,
        "embeddings": {"pooling": "mean", "prefix": encoder.prefix, "features": head.features,
                       **head.info,
                       "calibration": _calibration_note(config, head, tuned["method"] is not None),
                       "encoder_tuning": tuned},
    }
    return classifier, info, time.time() - started


def describe_embeddings(prepared: TrainingData, config: TrainConfig) -> str:
    """The recipe as the run summary names it."""
    tuning, _ = _tuning_plan(prepared, config)
    if prepared.labels.task == "regression":
        epochs, steps = similarity_schedule(len(prepared.y_train))
        if tuning:
            return f"the encoder tuned as a bi-encoder (CoSENT on the pairs' cosine, {epochs} " \
                   f"epochs = {steps} steps), then a · cosine + b by least squares (the " \
                   "sentence-pair regression recipe)"
        return "frozen-encoder embeddings + a ridge head on the pair features"
    if prepared.y_train.ndim == 2:
        return "frozen-encoder embeddings + one-vs-rest logistic-regression heads (the " \
               "small-data recipe)"
    head = "frozen-encoder embeddings + a cross-fitted logistic-regression head"
    if tuning:
        return f"{head}, then the encoder fine-tuned from that head (LP-FT, calibrated by " \
               f"{FOLDS} cross-fitted runs; the small-data recipe)"
    return f"{head} (the small-data recipe)"


def _warn_if_chance(head: Any, prepared: TrainingData) -> None:
    """A DataWarning when the cross-fitted head predicts held-out rows no better than the
    class frequencies do (its log-loss at least theirs): its probabilities are then near-uniform
    and its labels guesses, however the run otherwise looks."""
    nll, prior = head.info.get("oof_nll_calibrated"), head.info.get("prior_nll")
    if nll is None or prior is None or nll < prior:
        return
    pairs = " (for pairs whose label lies in how the two texts relate, --recipe finetune)" \
        if prepared.train.text_pairs is not None else ""
    warn_data(f"the embeddings head predicts held-out training rows no better than the label "
              f"frequencies (out-of-fold log-loss {nll:.3f} against {prior:.3f}): its "
              f"predictions are close to uniform; more labelled rows may help{pairs}",
              file=prepared.train.path)


def _calibration_note(config: TrainConfig, head: Any, tuned: bool) -> str:
    if not config.calibrate or not head.info.get("cross_fitted"):
        return "none"
    runs = f"the {FOLDS} cross-fitted LP-FT runs" if tuned else "the cross-fitted heads"
    return f"temperature fitted on out-of-fold scores of the training rows ({runs}) and " \
           "folded into the head"


def _tuning_plan(prepared: TrainingData, config: TrainConfig) -> tuple[bool, str]:
    """(whether LP-FT runs, why not): it runs for single texts with one label each, when
    asked for and when every class has a row in each of its calibration folds."""
    if not config.tune_encoder:
        return False, "tune_encoder is off"
    if prepared.labels.task == "regression":
        return True, ""  # sentence pairs: the bi-encoder (kanjo.training.similarity_tuning)
    if prepared.y_train.ndim == 2 or prepared.train.text_pairs is not None:
        return False, "LP-FT is measured for single texts with one label each; this head " \
                      "stays on the frozen encoder's vectors"
    fewest = int(min(np.bincount(prepared.y_train, minlength=len(prepared.labels))))
    if config.calibrate and fewest < FOLDS:
        return False, f"a class has {fewest} training rows, fewer than the {FOLDS} " \
                      "calibration folds of LP-FT"
    return True, ""
