"""int8 quantisation of an exported ONNX graph with onnxruntime's quantisers."""

from __future__ import annotations

from pathlib import Path

QUANTIZE = ("int8", "int8-blockwise")
"""int8: onnxruntime's dynamic quantisation (per-channel int8 weights, activations quantised
with one scale per batch tensor): the fastest, but a text's scores move slightly with the texts
batched with it. int8-blockwise: 8-bit weights in blocks of 32 (MatMulNBits) and an int8
word-embedding table, activations quantised per row block: as accurate as fp32 and independent
of batching, as small as int8, but on CPUs without fast kernels for it no faster than fp32."""


def quantize_int8(source: Path, dest: Path, blockwise: bool = False) -> None:
    """int8 weights, measured on the default encoder fine-tuned on JRTE pn
    (benchmarks/RESULTS.md). Dynamic quantisation: per-channel weights (per-tensor cost 0.02
    macro-F1), one activation scale per batch tensor; 98 % of labels equal fp32's. With
    ``blockwise`` the embedding tables become int8 (per channel) and every MatMul a
    MatMulNBits with 8-bit weights in blocks of 32 computing in int8 (accuracy level 4):
    99.8 % of labels equal fp32's, whatever the batch."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()  # the quantisers log tips and every skipped node on it
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        if not blockwise:
            quantize_dynamic(source, dest, weight_type=QuantType.QInt8, per_channel=True)
            return
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
    finally:
        root.setLevel(level)
