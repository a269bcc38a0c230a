"""int8 quantisation of an exported ONNX graph: kanjo's per-row scheme and onnxruntime's."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

QUANTIZE = ("int8", "int8-blockwise", "int8-dynamic")
"""int8 (the default fast export): int8 weights per column, activations quantised per row
(token) after calibrated smoothing (:mod:`kanjo.export.row_quantize`): a text's scores do not
depend on the texts batched with it. int8-blockwise: 8-bit weights in blocks of 32
(MatMulNBits) and activations quantised per row block: also batch-independent, as accurate,
but on CPUs without fast kernels for it no faster than fp32. int8-dynamic: onnxruntime's
dynamic quantisation, one activation scale per batch tensor (padding included), so a text's
label and probabilities change with its batch neighbours; kept only behind its explicit name."""


def quantize_int8(source: Path, dest: Path, scheme: str = "int8",
                  calibration: list[dict[str, np.ndarray]] | None = None) -> dict[str, Any]:
    """Quantise the fp32 graph ``source`` into ``dest`` with ``scheme`` (one of
    :data:`QUANTIZE`); ``calibration`` (padded ``input_ids``/``attention_mask`` batches of
    training texts) is needed by ``int8``. Every scheme also stores the word embeddings as int8
    (weights only: independent of the batch). Returns a summary
    for ``kanjo.json``. Measured on the default encoder fine-tuned on JRTE pn in
    benchmarks/RESULTS.md."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()  # the quantisers log tips and every skipped node on it
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        if scheme == "int8-dynamic":
            quantize_dynamic(source, dest, weight_type=QuantType.QInt8, per_channel=True)
            return {}
        if scheme == "int8":
            from kanjo.export.row_quantize import quantize_rows

            if not calibration:
                raise ValueError("int8 needs calibration batches")
            return quantize_rows(source, dest, calibration)
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        embeddings = dest.with_name("embeddings-int8.onnx")
        quantize_dynamic(source, embeddings, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["Gather"])
        quantizer = MatMulNBitsQuantizer(onnx.load(embeddings), bits=8, block_size=32,
                                         is_symmetric=True, accuracy_level=4)
        logging.getLogger(MatMulNBitsQuantizer.__module__).setLevel(logging.ERROR)  # per node
        quantizer.process()
        quantizer.model.save_model_to_file(str(dest), use_external_data_format=False)
        embeddings.unlink()
        return {}
    finally:
        root.setLevel(level)
