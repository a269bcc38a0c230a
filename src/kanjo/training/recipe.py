"""Which recipe a run uses: ``TrainConfig.recipe`` resolved against the data size.

``auto`` picks the embeddings recipe (a head on the encoder's sentence vectors; for single texts
then LP-FT, :mod:`kanjo.training.encoder_tuning`) below :data:`EMBEDDINGS_BELOW` training rows
(:data:`PAIR_EMBEDDINGS_BELOW` sentence pairs) and fine-tuning from there on. The threshold for
single texts comes from the learning curves of ``benchmarks/small_data.py`` (JRTE pn, default
encoder, dev macro-F1; ``benchmarks/RESULTS.md``): at 64 rows the frozen head 0.63 against
fine-tuning 0.47 (ECE 0.04 against 0.24); at 256 rows 0.70 against 0.69 (ECE 0.03 against 0.11);
at 1,024 rows fine-tuning leads, 0.77 against 0.74. The switch sits between the measured 256 and
1,024, at their geometric mean. LP-FT, measured later at 64 and 256 rows (0.636 and 0.724 on
seeds 0–2), widens the lead below the switch; it was not measured at 512 or 1,024 rows.

A regression on sentence pairs takes the embeddings recipe at every size: the encoder is tuned as
a bi-encoder on the pairs' cosine (:mod:`kanjo.training.similarity_tuning`). A regression of
single texts fine-tunes.
"""

from __future__ import annotations

from kanjo.config import TrainConfig
from kanjo.errors import ConfigError

EMBEDDINGS_BELOW = 500
"""Training rows below which ``recipe: auto`` trains the embeddings recipe."""

PAIR_EMBEDDINGS_BELOW = 3000
"""The same for sentence pairs (``benchmarks/RESULTS.md``, "Sentence pairs"). On JNLI (5-fold
cross-validation of valid, about 1,950 training pairs a fold) the embeddings recipe on
:data:`~kanjo.models.sentence_encoder.PAIR_FEATURES` scores macro-F1 0.705 ± 0.028 against
fine-tuning's 0.514 ± 0.16 (and TF-IDF's 0.674); on JRTE entailment (5,416 training pairs →
1,534 dev pairs) fine-tuning leads, 0.901 against 0.843 (TF-IDF 0.828). The switch sits near the
geometric mean of the two sizes (3,250 pairs)."""


def choose_recipe(config: TrainConfig, train_rows: int, pairs: bool = False) -> tuple[str, str]:
    """(recipe, reason): ``tfidf``, ``embeddings`` or ``finetune``, and a sentence saying why
    (recorded in kanjo.json and printed before training). The embeddings recipe fits a
    classifier head (one-vs-rest heads for multi-label) on the vectors of texts or sentence
    pairs, or a sentence-pair regression's bi-encoder; a regression of single texts fine-tunes
    (``auto``) or is refused (``embeddings``, ConfigError)."""
    if config.model == "tfidf":
        return "tfidf", "the model is the TF-IDF baseline"
    regression = config.task == "regression"
    unsupported = "a regression of single texts" if regression and not pairs else None
    if unsupported and config.recipe == "embeddings":
        raise ConfigError(f"the embeddings recipe fits classifiers and sentence-pair "
                          f"regressions, not {unsupported}",
                          hint="use --recipe finetune (or auto)")
    if config.recipe != "auto":
        return config.recipe, f"recipe {config.recipe} was asked for"
    if config.freeze_encoder:
        return "finetune", "freeze_encoder trains the classification head of the fine-tuning " \
                           "recipe"
    if regression and pairs:
        return "embeddings", ("auto: a sentence-pair regression tunes the encoder as a "
                              "bi-encoder on the pairs' cosine (CoSENT), which beat a "
                              "fine-tuned cross-encoder on JSTS in half the time")
    below = PAIR_EMBEDDINGS_BELOW if pairs else EMBEDDINGS_BELOW
    rows = f"{train_rows} training {'pairs' if pairs else 'rows'}"
    if train_rows < below and unsupported:
        return "finetune", (f"auto: {rows} < {below}, but the embeddings recipe does not fit "
                            f"{unsupported}")
    if train_rows < below:
        return "embeddings", (f"auto: {rows} < {below}, where a head on the encoder's "
                              "sentence vectors beats fine-tuning and stays calibrated")
    return "finetune", f"auto: {rows} ≥ {below}"
