"""Which recipe a run uses: ``TrainConfig.recipe`` resolved against the data size.

``auto`` picks the frozen-encoder embeddings recipe below :data:`EMBEDDINGS_BELOW` training rows
and fine-tuning from there on. The threshold comes from the learning curves of
``benchmarks/small_data.py`` (JRTE pn, default encoder; ``benchmarks/RESULTS.md``): at 64 and 256
rows the embeddings recipe scores higher dev macro-F1 than fine-tuning and is calibrated, at
1,024 rows and above fine-tuning is better.
"""

from __future__ import annotations

from kanjo.config import TrainConfig

EMBEDDINGS_BELOW = 1000
"""Training rows below which ``recipe: auto`` trains the embeddings recipe."""


def choose_recipe(config: TrainConfig, train_rows: int) -> tuple[str, str]:
    """(recipe, reason): ``tfidf``, ``embeddings`` or ``finetune``, and a sentence saying why
    (recorded in kanjo.json and printed before training)."""
    if config.model == "tfidf":
        return "tfidf", "the model is the TF-IDF baseline"
    if config.recipe != "auto":
        return config.recipe, f"recipe {config.recipe} was asked for"
    if config.freeze_encoder:
        return "finetune", "freeze_encoder trains the classification head of the fine-tuning " \
                           "recipe"
    if train_rows < EMBEDDINGS_BELOW:
        return "embeddings", (f"auto: {train_rows} training rows < {EMBEDDINGS_BELOW}, where "
                              "frozen-encoder embeddings beat fine-tuning and stay calibrated")
    return "finetune", f"auto: {train_rows} training rows ≥ {EMBEDDINGS_BELOW}"
