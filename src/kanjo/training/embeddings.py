"""The embeddings recipe: frozen encoder → mean-pooled sentence vectors (a sentence pair:
:data:`~kanjo.models.sentence_encoder.PAIR_FEATURES` of both texts' vectors) → a cross-fitted,
calibrated logistic-regression head (:mod:`kanjo.training.embedding_head`).

No gradient step touches the encoder, so a run takes the time of one forward pass over the
training rows (7–16 rows/s for the default encoder on two shared, loaded CPU cores), and there is
no checkpoint to select on a dev set: C and the temperature come from cross-validation on the
training rows, and the dev rows are only scored.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from kanjo.config import TrainConfig
from kanjo.inference.classifier import Classifier
from kanjo.inference.embedding_backend import EmbeddingBackend
from kanjo.models.sentence_encoder import E5_PREFIX, PAIR_FEATURES, SentenceEncoder
from kanjo.training.embedding_head import fit_head, fit_multi_label_head
from kanjo.training.prepare import TrainingData


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
    vectors, cut = encoder.embed_inputs(prepared.train.inputs, max(64, config.batch_size))
    if prepared.y_train.ndim == 2:  # multi-hot targets: --task multi-label
        head = fit_multi_label_head(vectors, prepared.y_train, seed=config.seed, prefix=prefix)
    else:
        head = fit_head(vectors, prepared.y_train, len(prepared.labels), seed=config.seed,
                        prefix=prefix, calibrate=config.calibrate, soft=prepared.soft_train)
    if prepared.train.text_pairs is not None:
        head = dataclasses.replace(head, features=PAIR_FEATURES)
    encoder.model.to("cpu")
    encoder.device = "cpu"
    classifier = Classifier(EmbeddingBackend(encoder, head), prepared.labels)
    info: dict[str, Any] = {
        "truncated_train_rows": cut,
        "embeddings": {"pooling": "mean", "prefix": prefix, "features": head.features,
                       **head.info,
                       "calibration": "temperature fitted on out-of-fold scores of the "
                                      "training rows and folded into head.safetensors"
                       if config.calibrate and head.info.get("cross_fitted") else "none"},
    }
    return classifier, info, time.time() - started
