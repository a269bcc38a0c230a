"""kanjo (感情): fine-tune, evaluate, export and serve Japanese text classifiers, offline.

The public API is three names::

    import kanjo
    clf = kanjo.train("reviews.csv", "out/model", epochs=4)   # -> Classifier
    clf = kanjo.load("out/model")
    clf.predict(["朝食がとても美味しかった。"])

Imports are lazy so that ``kanjo predict`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Classifier", "load", "train"]

if TYPE_CHECKING:
    from kanjo.inference.classifier import Classifier
    from kanjo.training.finetune import train


def load(path: Any, device: str = "auto") -> Classifier:
    """Load a trained (or exported) model directory."""
    from kanjo.inference.classifier import Classifier

    return Classifier.load(path, device=device)


def __getattr__(name: str) -> Any:
    if name == "Classifier":
        from kanjo.inference.classifier import Classifier

        return Classifier
    if name == "train":
        from kanjo.training.finetune import train

        return train
    raise AttributeError(f"module 'kanjo' has no attribute {name!r}")
