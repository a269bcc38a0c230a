"""The ONNX backend: an export (:mod:`kanjo.export`) run by onnxruntime on the CPU.

An export directory holds ``model.onnx``, the tokenizer (``tokenizer.json`` carrying its
truncation length and pad token) and ``kanjo.json`` with ``backend: onnx``. Predicting imports
onnxruntime and the ``tokenizers`` library only, never torch or transformers.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.data.batching import CPU_BATCH_TOKENS, length_sorted_batches, pad_ids
from kanjo.errors import ModelError
from kanjo.models.devices import physical_cores
from kanjo.models.tokenize import encode_inputs

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


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
        self.segments = "token_type_ids" in {i.name for i in session.get_inputs()}

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

    def logits(self, texts: list[str] | list[tuple[str, str]],
               batch_size: int) -> tuple[np.ndarray, int]:
        """Scores [n, k] in input order for texts or ``(text, text_pair)`` pairs (a graph with
        a ``token_type_ids`` input gets their segment ids), and how many were truncated."""
        ids, types, cut = encode_inputs(self.tokenizer, texts, self.max_length)
        out = np.zeros((len(texts), self.num_labels), dtype=np.float32)
        for batch in length_sorted_batches([len(x) for x in ids], batch_size,
                                           CPU_BATCH_TOKENS):
            input_ids, mask = pad_ids([ids[i] for i in batch], self.pad_id)
            feed = {"input_ids": input_ids, "attention_mask": mask}
            if self.segments:
                feed["token_type_ids"] = pad_ids([types[i] for i in batch], 0)[0] \
                    if types is not None else np.zeros_like(input_ids)
            out[batch] = self.session.run(None, feed)[0]
        return out, cut

    def save(self, directory: Path, labels: Any = None) -> list[str]:
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
