"""The torch backend: a transformers sequence-classification model and its tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kanjo.data.batching import length_sorted_batches
from kanjo.models.devices import batch_tokens, model_max_length, select_device


class TorchBackend:
    """A transformers sequence-classification model and its tokenizer."""

    kind = "torch"

    def __init__(self, model: Any, tokenizer: Any, max_length: int, device: str = "auto"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = select_device(device)
        self.model.to(self.device)

    @property
    def num_labels(self) -> int:
        return int(self.model.config.num_labels)

    @classmethod
    def load(cls, path: Path, max_length: int | None, device: str = "auto") -> TorchBackend:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights 201/201" on every load

        model = AutoModelForSequenceClassification.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        return cls(model, tokenizer, model_max_length(model, tokenizer, max_length), device)

    def fold_temperature(self, temperature: float) -> None:
        """Divide the classification head's output layer (weight and bias) by ``temperature``,
        so that the saved model's own logits are the calibrated ones: ``softmax(logits)`` in
        ``transformers.pipeline``, an ONNX export or any other consumer equals kanjo's
        ``softmax(logits / T)`` exactly (temperature scaling is linear in the last layer)."""
        import torch

        base = self.model.base_model
        inside_base = {id(m) for m in base.modules()}
        heads = [m for m in self.model.modules() if isinstance(m, torch.nn.Linear)
                 and m.out_features == self.num_labels and id(m) not in inside_base]
        if not heads:
            raise ValueError("no output layer found in the classification head")
        with torch.no_grad():
            heads[-1].weight.div_(temperature)
            if heads[-1].bias is not None:
                heads[-1].bias.div_(temperature)

    def logits(self, texts: list[str] | list[tuple[str, str]],
               batch_size: int) -> tuple[np.ndarray, int]:
        """Scores [n, k] in input order for texts or ``(text, text_pair)`` pairs, and how
        many were truncated."""
        import torch

        from kanjo.models.tokenize import encode_inputs

        ids, types, cut = encode_inputs(self.tokenizer, texts, self.max_length)
        out = np.zeros((len(texts), self.num_labels), dtype=np.float32)
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], batch_size,
                                               batch_tokens(self.device)):
                rows = {"input_ids": [ids[i] for i in batch]}
                if types is not None:  # the segments of sentence pairs (BERT)
                    rows["token_type_ids"] = [types[i] for i in batch]
                padded = self.tokenizer.pad(rows, return_tensors="pt")
                padded = {k: v.to(self.device) for k, v in padded.items()}
                out[batch] = self.model(**padded).logits.float().cpu().numpy()
        return out, cut

    def save(self, directory: Path, labels: Any = None) -> list[str]:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        return ["model.safetensors"]
