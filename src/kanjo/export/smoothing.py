"""Per-channel smoothing factors for int8 MatMuls, calibrated on training texts (SmoothQuant).

A few hidden channels of a BERT encoder carry activations 20–30× larger than the median
channel, and a row's int8 scale is set by its largest value, so those channels cost the others
their precision. SmoothQuant (Xiao et al. 2023, arXiv:2211.10438) divides activation channel
``j`` by ``s_j`` and multiplies weight row ``j`` by it, which leaves ``A @ W`` unchanged in
exact arithmetic and moves the difficulty from the activations into the (per-column quantised)
weights: ``s_j = max|A_j| ** alpha / max|W_j| ** (1 - alpha)``.

The factors are constants of the exported graph, fixed at export time from the calibration
texts, so they do not depend on what is predicted later. ``alpha`` is chosen per activation
(the input shared by a layer's Q, K and V, the attention context, the FFN input, the FFN's
GELU output) from :data:`ALPHAS` by the smallest quantisation error of its MatMuls on sampled
calibration rows; 0 means no smoothing. Measured on the default encoder fine-tuned on JRTE pn
(128 training texts): the median relative MatMul error falls from 0.015 to about 0.008.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

ALPHAS = (0.0, 0.25, 0.5, 0.75)
SAMPLE_ROWS = 512
"""Token rows per activation kept for choosing alpha (channel maxima use every row)."""
FLOOR = 1e-5


def row_quantised(x: np.ndarray) -> np.ndarray:
    """``x [rows, k]`` through symmetric int8 with one scale per row, back in float."""
    scale = np.maximum(np.abs(x).max(axis=1, keepdims=True) / 127, 1e-12)
    return np.rint(x / scale) * scale


def column_quantised(w: np.ndarray) -> np.ndarray:
    """``w [k, n]`` through symmetric int8 with one scale per column, back in float."""
    scale = np.maximum(np.abs(w).max(axis=0, keepdims=True) / 127, 1e-12)
    return np.rint(w / scale) * scale


def factors(channel_max: np.ndarray, weight_max: np.ndarray, alpha: float) -> np.ndarray:
    """``s [k]`` for activation channel maxima and weight row maxima (both ``[k]``)."""
    if alpha == 0:
        return np.ones_like(channel_max)
    return (np.maximum(channel_max, FLOOR) ** alpha
            / np.maximum(weight_max, FLOOR) ** (1 - alpha)).astype(np.float32)


def choose(sample: np.ndarray, channel_max: np.ndarray,
           weights: Sequence[np.ndarray]) -> tuple[float, np.ndarray]:
    """The ``alpha`` of :data:`ALPHAS` (and its factors ``s [k]``) whose row-int8 products with
    ``weights`` (each ``[k, n]``, the MatMuls sharing this input) are closest to the fp32 ones
    on ``sample [rows, k]``, by the summed relative Frobenius error."""
    weight_max = np.max([np.abs(w).max(axis=1) for w in weights], axis=0)
    exact = [sample @ w for w in weights]
    best: tuple[float, float, np.ndarray] | None = None
    for alpha in ALPHAS:
        s = factors(channel_max, weight_max, alpha)
        x = row_quantised(sample / s)
        error = sum(float(np.linalg.norm(x @ column_quantised(w * s[:, None]) - y)
                          / max(np.linalg.norm(y), 1e-12)) for w, y in zip(weights, exact,
                                                                             strict=True))
        if best is None or error < best[0]:
            best = (error, alpha, s)
    assert best is not None
    return best[1], best[2]


def activation_statistics(model_path: Path, activations: list[str],
                          batches: list[dict[str, np.ndarray]],
                          seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Run the fp32 graph at ``model_path`` on ``batches`` (``input_ids``/``attention_mask``)
    and return, per activation name: the channel maxima of ``|A|`` over every real (unpadded)
    token row ``[k]``, and up to :data:`SAMPLE_ROWS` of those rows ``[rows, k]``, sampled with
    ``seed``."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(model_path))
    known = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_tensor_value_info(a, onnx.TensorProto.FLOAT,
                                                                 None)
                              for a in activations if a not in known)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    maxima: dict[str, np.ndarray] = {}
    rows: dict[str, list[np.ndarray]] = {a: [] for a in activations}
    total = sum(int(b["attention_mask"].sum()) for b in batches)
    for batch in batches:
        real = batch["attention_mask"].reshape(-1).astype(bool)
        keep = rng.random(int(real.sum())) < SAMPLE_ROWS / max(total, 1)
        for name, value in zip(activations, session.run(activations, batch), strict=True):
            value = value.reshape(-1, value.shape[-1])
            value = value[real] if value.shape[0] == real.size else value  # pooled: per text
            peak = np.abs(value).max(axis=0)
            maxima[name] = np.maximum(maxima[name], peak) if name in maxima else peak
            rows[name].append(value[keep] if value.shape[0] == keep.size else value)
    return {a: (maxima[a], np.concatenate(rows[a])[:SAMPLE_ROWS * 2]) for a in activations}
