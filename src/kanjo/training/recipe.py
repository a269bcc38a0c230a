"""Which recipe a run uses: ``TrainConfig.recipe`` resolved against the data size.

``auto`` picks the frozen-encoder embeddings recipe below :data:`EMBEDDINGS_BELOW` training rows
and fine-tuning from there on. The threshold comes from the learning curves of
``benchmarks/small_data.py`` (JRTE pn, default encoder, dev macro-F1; ``benchmarks/RESULTS.md``):
at 64 rows embeddings 0.63 against fine-tuning 0.47 (ECE 0.04 against 0.24); at 256 rows
0.70 against 0.71–0.72, a tie, at ECE 0.03 against 0.06 and in a fifteenth of the time; at
1,024 rows fine-tuning leads, 0.78 against 0.74. The switch sits between the measured 256 and
1,024, at their geometric mean.
"""

from __future__ import annotations

from kanjo.config import TrainConfig
from kanjo.errors import ConfigError

EMBEDDINGS_BELOW = 500
"""Training rows below which ``recipe: auto`` trains the embeddings recipe."""


def choose_recipe(config: TrainConfig, train_rows: int, pairs: bool = False) -> tuple[str, str]:
    """(recipe, reason): ``tfidf``, ``embeddings`` or ``finetune``, and a sentence saying why
    (recorded in kanjo.json and printed before training). The embeddings recipe embeds single
    texts for a classifier head (one-vs-rest heads for multi-label): sentence pairs and a
    regression fine-tune (``auto``) or are refused (``embeddings``, ConfigError)."""
    if config.model == "tfidf":
        return "tfidf", "the model is the TF-IDF baseline"
    unsupported = "sentence pairs" if pairs else (
        "a regression task" if config.task == "regression" else None)
    if unsupported and config.recipe == "embeddings":
        raise ConfigError(f"the embeddings recipe classifies single texts, not {unsupported}",
                          hint="use --recipe finetune (or auto)")
    if config.recipe != "auto":
        return config.recipe, f"recipe {config.recipe} was asked for"
    if config.freeze_encoder:
        return "finetune", "freeze_encoder trains the classification head of the fine-tuning " \
                           "recipe"
    if train_rows < EMBEDDINGS_BELOW and unsupported:
        return "finetune", (f"auto: {train_rows} training rows < {EMBEDDINGS_BELOW}, but the "
                            f"embeddings recipe does not take {unsupported}")
    if train_rows < EMBEDDINGS_BELOW:
        return "embeddings", (f"auto: {train_rows} training rows < {EMBEDDINGS_BELOW}, where "
                              "frozen-encoder embeddings beat fine-tuning and stay calibrated")
    return "finetune", f"auto: {train_rows} training rows ≥ {EMBEDDINGS_BELOW}"
