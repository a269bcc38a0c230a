"""Export: a trained classifier as an ONNX graph, optionally int8-quantised and trimmed."""

from kanjo.export.onnx import export
from kanjo.export.quantize import QUANTIZE

__all__ = ["QUANTIZE", "export"]
