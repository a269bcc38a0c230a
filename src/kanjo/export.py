"""ONNX export (optionally int8 and vocabulary-trimmed) and the onnxruntime backend.

An export directory holds ``model.onnx``, the tokenizer (``tokenizer.json`` carrying its
truncation length and pad token) and ``kanjo.json`` with ``backend: onnx`` and everything else
of the source model's metadata (labels, temperature, metrics). :class:`OnnxBackend` runs it with
onnxruntime and the ``tokenizers`` library only: predicting never imports torch or transformers.

The graph comes from torch's TorchScript-based exporter (``dynamo=False``): the dynamo exporter
needs ``onnxscript``, which kanjo does not depend on. Tracing a transformers 5 BERT warns about
Python conditions that become constants; they concern causal masks and cache offsets, which a
bidirectional encoder never uses, and every export is checked against the torch model on a
padded batch of another shape than the traced one.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.errors import KanjoError, ModelError
from kanjo.inference import length_sorted_batches
from kanjo.storage import atomic_directory, check_writable_target, read_meta

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
OPSET = 17
QUANTIZE = ("int8", "int8-blockwise")
"""int8: onnxruntime's dynamic quantisation (per-channel int8 weights, activations quantised
with one scale per batch tensor): the fastest, but a text's scores move slightly with the texts
batched with it. int8-blockwise: 8-bit weights in blocks of 32 (MatMulNBits) and an int8
word-embedding table, activations quantised per row block: as accurate as fp32 and independent
of batching, as small as int8, but on CPUs without fast kernels for it no faster than fp32."""


def physical_cores() -> int:
    """CPU cores this process may use, hyper-threads counted once."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or usable
    except ImportError:
        physical = usable
    return max(1, min(usable, physical))


class OnnxBackend:
    """An exported model run by onnxruntime on the CPU."""

    kind = "onnx"

    def __init__(self, session: Any, tokenizer: Any, pad_id: int, max_length: int,
                 directory: Path):
        self.session = session
        self.tokenizer = tokenizer
        self.pad_id = pad_id
        self.max_length = max_length
        self.directory = Path(directory)
        self.num_labels = int(session.get_outputs()[0].shape[-1])

    @classmethod
    def load(cls, path: Path, max_length: int | None, threads: int | None = None) -> OnnxBackend:
        import onnxruntime as ort

        path = Path(path)
        if not (path / MODEL_FILE).exists():
            raise ModelError(f"has no {MODEL_FILE}: not an ONNX export", file=path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or physical_cores()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path / MODEL_FILE), options,
                                       providers=["CPUExecutionProvider"])
        tokenizer, pad_id = _load_tokenizer(path)
        return cls(session, tokenizer, pad_id, max_length or 512, path)

    def logits(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        from kanjo.tokenize import encode

        ids, cut = encode(self.tokenizer, texts, self.max_length)
        out = np.zeros((len(texts), self.num_labels), dtype=np.float32)
        for batch in length_sorted_batches([len(x) for x in ids], batch_size):
            rows = [ids[i] for i in batch]
            input_ids = np.full((len(rows), max(map(len, rows))), self.pad_id, dtype=np.int64)
            mask = np.zeros_like(input_ids)
            for r, seq in enumerate(rows):
                input_ids[r, :len(seq)] = seq
                mask[r, :len(seq)] = 1
            out[batch] = self.session.run(None, {"input_ids": input_ids,
                                                 "attention_mask": mask})[0]
        return out, cut

    def save(self, directory: Path) -> list[str]:
        directory = Path(directory)
        if directory.resolve() != self.directory.resolve():
            for path in self.directory.iterdir():
                if path.is_file() and path.name != "kanjo.json":
                    shutil.copyfile(path, directory / path.name)
        return [name for name in (MODEL_FILE, TOKENIZER_FILE) if (directory / name).exists()]


def _load_tokenizer(path: Path) -> tuple[Any, int]:
    """``tokenizer.json`` through the ``tokenizers`` library (its padding section names the pad
    token); a slow tokenizer (no tokenizer.json) through transformers."""
    if (path / TOKENIZER_FILE).exists():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
        padding = tokenizer.padding
        tokenizer.no_padding()  # batches are padded after length sorting
        return tokenizer, int(padding["pad_id"]) if padding else 0
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    return tokenizer, int(tokenizer.pad_token_id or 0)


def export(model: str | Path, out: str | Path, quantize: str | None = None,
           trim_vocab: bool = False, trim_texts: list[str] | None = None,
           overwrite: bool = False) -> Path:
    """Export the transformer classifier at ``model`` to an ONNX directory ``out`` (written
    atomically). ``quantize``: one of :data:`QUANTIZE`. ``trim_vocab``: keep
    only the pieces Japanese text needs (:mod:`kanjo.vocab_trim`) plus those ``trim_texts`` use.
    """
    from transformers.utils import logging as hf_logging

    from kanjo.inference import Classifier, TorchBackend

    hf_logging.disable_progress_bar()
    if quantize not in (None, *QUANTIZE):
        raise KanjoError(f"unknown quantisation '{quantize}'",
                         hint=f"use --quantize {' or '.join(QUANTIZE)}")
    source = Path(model)
    kind = read_meta(source).get("backend", "torch") if source.is_dir() else "torch"
    if kind != "torch":
        raise ModelError(f"is a {kind} model: only transformer models can be exported",
                         file=source)
    check_writable_target(Path(out), overwrite)  # before the slow part
    classifier = Classifier.load(source, device="cpu")
    backend: Any = classifier.backend
    started = time.time()
    info: dict[str, Any] = {"source": str(source), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                            "opset": OPSET, "quantize": quantize}
    with atomic_directory(Path(out), overwrite) as staged:
        if trim_vocab:
            from kanjo.vocab_trim import trim_model_dir

            trimmed = staged / ".trimmed"
            trimmed.mkdir()
            info["vocab_trim"] = trim_model_dir(source, trimmed, trim_texts or ())
            backend = TorchBackend.load(trimmed, backend.max_length, "cpu")
        _write_onnx(backend, staged / MODEL_FILE, quantize)
        _write_tokenizer(backend, staged)
        if trim_vocab:
            shutil.rmtree(staged / ".trimmed")
        exported = Classifier(OnnxBackend.load(staged, backend.max_length), classifier.labels,
                              classifier.meta)
        info["seconds"] = round(time.time() - started, 1)
        exported.meta.pop("checksums", None)
        exported.meta["export"] = info
        exported.save_to(staged)
    return Path(out)


def _write_onnx(backend: Any, path: Path, quantize: str | None) -> None:
    """Trace the model to ONNX (dynamic batch and sequence axes), check it against torch, and
    quantise it when asked."""
    import torch

    model = backend.model.eval().to("cpu")
    generator = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size

    def batch(rows: int, width: int) -> tuple[Any, Any]:
        ids = torch.randint(5, vocab, (rows, width), generator=generator)
        mask = torch.ones_like(ids)
        mask[-1, width // 2:] = 0  # one padded row: the mask path must be traced
        return ids, mask

    fp32 = path.with_name("fp32.onnx") if quantize else path
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch",
            1: "sequence"}, "logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings (see the module docstring)
        torch.onnx.export(model, batch(2, 8), str(fp32), input_names=list(axes)[:2],
                          output_names=["logits"], dynamic_axes=axes, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)
        ids, mask = batch(3, 13)
        expected = model(input_ids=ids, attention_mask=mask).logits.float().numpy()
    got = _run(fp32, ids.numpy(), mask.numpy())
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-4):
        raise ModelError(f"the ONNX graph does not reproduce the model (largest logit "
                         f"difference {np.abs(got - expected).max():.2g})",
                         hint="please report this model's architecture")
    if quantize:
        _quantize_int8(fp32, path, blockwise=quantize == "int8-blockwise")
        fp32.unlink()


def _run(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids.astype(np.int64),
                              "attention_mask": mask.astype(np.int64)})[0]


def _quantize_int8(source: Path, dest: Path, blockwise: bool = False) -> None:
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


def _write_tokenizer(backend: Any, directory: Path) -> None:
    """The tokenizer files, and a ``tokenizer.json`` that truncates at the model's length and
    names its pad token, taken from the tokenizer transformers actually runs."""
    tokenizer = backend.tokenizer
    tokenizer.save_pretrained(directory)
    fast = getattr(tokenizer, "backend_tokenizer", None)
    if fast is None:
        return
    from tokenizers import Tokenizer

    standalone = Tokenizer.from_str(fast.to_str())
    standalone.enable_truncation(backend.max_length)
    standalone.enable_padding(pad_id=tokenizer.pad_token_id or 0,
                              pad_token=tokenizer.pad_token or "[PAD]")
    standalone.save(str(directory / TOKENIZER_FILE), pretty=False)
