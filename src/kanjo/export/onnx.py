"""ONNX export of a trained transformer classifier (optionally int8 and vocabulary-trimmed): a
fine-tuned one, or a single-text model of the embeddings recipe (mean pooling, normalisation and
the head are in the graph, :class:`~kanjo.models.pooled_classifier.KanjoPooledClassifier`).

An export directory holds ``model.onnx``, the tokenizer and ``kanjo.json`` with ``backend: onnx``
and everything else of the source model's metadata (labels, temperature, metrics); it is run by
:class:`kanjo.inference.onnx_backend.OnnxBackend`.

The graph comes from torch's TorchScript-based exporter (``dynamo=False``): the dynamo exporter
needs ``onnxscript``, which kanjo does not depend on. Tracing a transformers 5 BERT warns about
Python conditions that become constants; they concern causal masks and cache offsets, which a
bidirectional encoder never uses, and every export is checked against the torch model on a
padded batch of another shape than the traced one.
"""

from __future__ import annotations

import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.errors import ConfigError, KanjoError, ModelError
from kanjo.export.quantize import QUANTIZE, quantize_int8
from kanjo.inference.onnx_backend import MODEL_FILE, TOKENIZER_FILE, OnnxBackend
from kanjo.storage import atomic_directory, check_writable_target, read_meta

OPSET = 17


CALIBRATION_TEXTS = 256
"""Texts sampled (seeded) from the training file to calibrate ``--quantize int8``."""


def export(model: str | Path, out: str | Path, quantize: str | None = None,
           trim_vocab: bool = False, trim_texts: list[str] | None = None,
           overwrite: bool = False, calibration_texts: list[str] | None = None) -> Path:
    """Export the transformer classifier at ``model`` to an ONNX directory ``out`` (written
    atomically). ``quantize``: one of :data:`QUANTIZE`. ``trim_vocab``: keep
    only the pieces Japanese text needs (:mod:`kanjo.vocab_trim`) plus those ``trim_texts`` use.
    ``calibration_texts``: what ``int8`` calibrates its smoothing on; by default up to
    :data:`CALIBRATION_TEXTS` training rows of the file recorded in ``kanjo.json``.

    Raises :class:`ConfigError` when ``int8`` has no calibration texts (the training file moved
    or changed and none were given)."""
    from transformers.utils import logging as hf_logging

    from kanjo.inference.classifier import Classifier
    from kanjo.inference.torch_backend import TorchBackend

    hf_logging.disable_progress_bar()
    if quantize not in (None, *QUANTIZE):
        raise KanjoError(f"unknown quantisation '{quantize}'",
                         hint=f"use --quantize {' or '.join(QUANTIZE)}")
    source = Path(model)
    meta = read_meta(source) if source.is_dir() else {}
    kind = meta.get("backend", "torch")
    if kind == "embedding" and meta.get("pairs"):
        raise ModelError("is a sentence-pair embedding model (each text encoded alone, a head on "
                         "both vectors): ONNX export covers single-text embedding models and "
                         "fine-tuned ones", file=source,
                         hint="predict with it as it is, or train with --recipe finetune to "
                              "export")
    if kind == "embedding" and trim_vocab:
        raise ConfigError("--trim-vocab covers fine-tuned models, not the embeddings recipe's",
                          file=source, hint="export without --trim-vocab")
    if kind not in ("torch", "embedding"):
        raise ModelError(f"is a {kind} model: only transformer models can be exported",
                         file=source)
    check_writable_target(Path(out), overwrite)  # before the slow part
    if quantize == "int8" and not calibration_texts:
        calibration_texts = training_texts(meta, source)
    classifier = Classifier.load(source, device="cpu")
    backend: Any = classifier.backend
    if kind == "embedding":
        backend = _traceable_embeddings(backend, classifier.labels)
    started = time.time()
    info: dict[str, Any] = {"source": str(source), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                            "opset": OPSET, "quantize": quantize}
    with atomic_directory(Path(out), overwrite) as staged:
        if trim_vocab:
            from kanjo.models.vocab_trim import trim_model_dir

            trimmed = staged / ".trimmed"
            trimmed.mkdir()
            info["vocab_trim"] = trim_model_dir(source, trimmed, trim_texts or ())
            backend = TorchBackend.load(trimmed, backend.max_length, "cpu")
        info["quantization"] = _write_onnx(backend, staged / MODEL_FILE, quantize,
                                           calibration_texts or [],
                                           bool(classifier.meta.get("pairs")))
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


@dataclass
class _Traceable:
    """What :func:`_write_onnx` traces: a torch module from (input_ids, attention_mask[,
    token_type_ids]) to logits, its tokenizer and the token length the export truncates at."""

    model: Any
    tokenizer: Any
    max_length: int


def _traceable_embeddings(backend: Any, labels: Any) -> _Traceable:
    """An embeddings-recipe model as one module
    (:class:`~kanjo.models.pooled_classifier.KanjoPooledClassifier`, which inserts the text
    prefix as tokens). Its inputs are truncated so that, prefix included, they fit the length
    kanjo encodes ``prefix + text`` at."""
    model = backend.transformers_model(labels)
    return _Traceable(model, backend.encoder.tokenizer,
                      backend.max_length - len(model.config.prefix_ids))


def training_texts(meta: dict[str, Any], model: Path) -> list[str]:
    """Up to :data:`CALIBRATION_TEXTS` texts (seeded sample, file order) of the training file
    recorded in ``meta``, leaving out rows marked dev or test and the rows --dev-split held out;
    read as training read it.

    Raises :class:`ConfigError` if the file is gone or no longer the one trained on."""
    from kanjo.data import read_table
    from kanjo.storage import sha256_file

    recorded = (meta.get("data") or {}).get("train") or {}
    path = Path(recorded.get("file", ""))
    hint = "pass --calibration-texts FILE (a text a line, or CSV/TSV/JSONL) of texts like the " \
           "training data"
    if not recorded.get("file") or not path.is_file():
        raise ConfigError("int8 calibrates on the training texts, but the training file "
                          f"{str(path)!r} is not there", file=model / "kanjo.json", hint=hint)
    if recorded.get("sha256") and sha256_file(path) != recorded["sha256"]:
        raise ConfigError(f"int8 calibrates on the training texts, but {path} changed since "
                          "training", file=model / "kanjo.json", hint=hint)
    config = meta.get("config") or {}
    table = read_table(path, config.get("format") or "auto", config.get("text_column"),
                       config.get("label_column"), encoding=config.get("encoding"),
                       text_pair_column=config.get("text_pair_column"))
    dev = (meta.get("data") or {}).get("dev") or {}
    held_out = set(dev.get("lines", ())) if dev.get("source") == "held-out" else set()
    rows = [i for i in range(len(table)) if table.lines[i] not in held_out and (
        table.splits is None or table.splits[i] not in ("dev", "test"))]
    pick = np.random.default_rng(0).permutation(rows)[:CALIBRATION_TEXTS]
    inputs = table.inputs
    return [inputs[i] for i in sorted(pick)]


def _calibration_batches(backend: Any, texts: list[str],
                         segments: bool = False) -> list[dict[str, np.ndarray]]:
    from kanjo.data.batching import length_sorted_batches, pad_ids
    from kanjo.models.tokenize import encode_inputs

    ids, types, _ = encode_inputs(backend.tokenizer, texts, backend.max_length)
    pad = backend.tokenizer.pad_token_id or 0
    batches = []
    for index in length_sorted_batches([len(x) for x in ids], 32):
        input_ids, mask = pad_ids([ids[i] for i in index], pad)
        batches.append({"input_ids": input_ids, "attention_mask": mask})
        if segments:
            batches[-1]["token_type_ids"] = pad_ids(
                [types[i] for i in index], 0)[0] if types else np.zeros_like(input_ids)
    return batches


def _write_onnx(backend: Any, path: Path, quantize: str | None,
                calibration_texts: list[str], pairs: bool = False) -> dict[str, Any]:
    """Trace the model to ONNX (dynamic batch and sequence axes), check it against torch, and
    quantise it when asked; return the quantiser's summary. A sentence-pair model whose
    tokenizer makes segment ids (BERT) gets a ``token_type_ids`` input as well."""
    import torch

    model = backend.model.eval().to("cpu")
    generator = torch.Generator().manual_seed(0)
    vocab = model.get_input_embeddings().num_embeddings
    segments = pairs and "token_type_ids" in backend.tokenizer.model_input_names

    def batch(rows: int, width: int) -> tuple[Any, ...]:
        ids = torch.randint(5, vocab, (rows, width), generator=generator)
        mask = torch.ones_like(ids)
        mask[-1, width // 2:] = 0  # one padded row: the mask path must be traced
        if not segments:
            return ids, mask
        types = torch.zeros_like(ids)
        types[:, width // 3:] = 1  # a second segment: its embedding must be traced
        return ids, mask, types

    fp32 = path.with_name("fp32.onnx") if quantize else path
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if segments else [])
    axes = {**{name: {0: "batch", 1: "sequence"} for name in names}, "logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings (see the module docstring)
        torch.onnx.export(model, batch(2, 8), str(fp32), input_names=names,
                          output_names=["logits"], dynamic_axes=axes, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)
        check = batch(3, 13)
        expected = model(**dict(zip(names, check, strict=True))).logits.float().numpy()
    got = _run(fp32, *(t.numpy() for t in check))
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-4):
        raise ModelError(f"the ONNX graph does not reproduce the model (largest logit "
                         f"difference {np.abs(got - expected).max():.2g})",
                         hint="please report this model's architecture")
    if not quantize:
        return {}
    summary = quantize_int8(fp32, path, quantize, _calibration_batches(
        backend, calibration_texts, segments) if quantize == "int8" else None)
    fp32.unlink()
    if quantize == "int8":
        summary["calibration_texts"] = len(calibration_texts)
    return summary


def _run(path: Path, ids: np.ndarray, mask: np.ndarray,
         types: np.ndarray | None = None) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}
    if types is not None:
        feed["token_type_ids"] = types.astype(np.int64)
    return session.run(None, feed)[0]


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
