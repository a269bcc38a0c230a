"""kanjo (感情): fine-tune, evaluate, export and serve Japanese text classifiers, offline.

The public API::

    import kanjo
    clf = kanjo.train("reviews.csv", "out/model", epochs=4)   # -> Classifier
    clf = kanjo.train(df, "out/model")                        # a DataFrame, (text, label) pairs
    clf = kanjo.load("out/model")
    clf.predict(["朝食がとても美味しかった。"])
    clf.evaluate("reviews.csv", split="dev")
    kanjo.predict_file(clf, "big.txt", Path("scored.csv"))    # chunked, resumable

``TrainConfig`` holds every training option; errors a user can act on are ``KanjoError``
(``DataError``, ``ModelError``, ``ConfigError``). The heavy parts are imported lazily so that
``kanjo predict`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kanjo.config import PretrainConfig, TrainConfig
from kanjo.errors import ConfigError, DataError, KanjoError, ModelError

__version__ = "0.1.0"
__all__ = ["Classifier", "ConfigError", "DataError", "KanjoError", "ModelError",
           "PretrainConfig", "TrainConfig", "__version__", "load", "predict_file", "pretrain",
           "train"]

if TYPE_CHECKING:
    from kanjo.inference.classifier import Classifier
    from kanjo.inference.streaming import predict_file
    from kanjo.training.finetune import train
    from kanjo.training.pretraining import pretrain

_LAZY = {"Classifier": "kanjo.inference.classifier", "train": "kanjo.training.finetune",
         "pretrain": "kanjo.training.pretraining", "predict_file": "kanjo.inference.streaming"}


def load(path: Any, device: str = "auto") -> Classifier:
    """Load a trained (or exported) model directory: torch, ONNX or TF-IDF, by its contents.
    Raises :class:`ModelError` naming the file when the directory cannot be loaded."""
    from kanjo.inference.classifier import Classifier

    return Classifier.load(path, device=device)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kanjo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
