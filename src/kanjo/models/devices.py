"""Where and how large a model runs: the torch device, the longest input, the CPU cores."""

from __future__ import annotations

import os
from typing import Any

from kanjo.data.batching import CPU_BATCH_TOKENS


def select_device(device: str = "auto") -> str:
    """``device`` as given, or for ``"auto"`` the best available: ``cuda``, ``mps``, ``cpu``."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def model_max_length(model: Any, tokenizer: Any, wanted: int | None = None) -> int:
    """The longest input in tokens that the model accepts: ``wanted`` (default 512) capped by its
    position embeddings and the tokenizer's own limit."""
    limits = [wanted or 512, getattr(tokenizer, "model_max_length", None) or 10**6]
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        # RoBERTa-style models reserve the first positions for padding
        offset = 2 if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta") else 0
        limits.append(positions - offset)
    return int(min(limits))


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


def batch_tokens(device: str) -> int | None:
    """Padded tokens per forward pass on ``device`` (``"cpu"``, ``"cuda:0"``…): the CPU's
    budget (:data:`kanjo.data.batching.CPU_BATCH_TOKENS`), or None (rows only) on an
    accelerator, whose larger passes stay efficient."""
    return CPU_BATCH_TOKENS if str(device).split(":")[0] == "cpu" else None
