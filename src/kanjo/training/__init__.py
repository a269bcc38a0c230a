"""Training: fine-tuning on transformers' Trainer, the TF-IDF baseline, cross-validation and
masked-LM pretraining."""

from kanjo.training.finetune import fit, train
from kanjo.training.prepare import TrainingData, prepare_data

__all__ = ["TrainingData", "fit", "prepare_data", "train"]
