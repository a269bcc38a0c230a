"""Inference: the Classifier and its torch / ONNX / TF-IDF backends, and fill-mask."""

from kanjo.inference.classifier import Classifier

__all__ = ["Classifier"]
