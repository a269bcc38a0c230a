"""Data-parallel training under a launcher: ``torchrun`` or ``accelerate launch``.

The launcher starts one process per device and sets ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE``; transformers' ``Trainer`` (through accelerate) then joins the process group
(gloo on CPUs, NCCL on GPUs) and wraps the model in ``DistributedDataParallel``. kanjo adds what
a run needs around that: ``batch_size`` is the *global* batch (``per_device = batch_size /
world_size``, so that a run on N processes takes the optimiser steps a single process takes),
only rank 0 prints, logs, writes and publishes, and rank 0's errors reach every rank so all exit
alike. Nothing here is a distributed engine of its own: the process group is accelerate's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from kanjo.errors import ConfigError, KanjoError

T = TypeVar("T")


def world_size() -> int:
    """Processes in the run (``WORLD_SIZE`` from the launcher; 1 without one)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (``RANK``; 0 without a launcher)."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Whether this process prints, logs and writes: rank 0, or the only process."""
    return rank() == 0


def per_device_batch(batch_size: int) -> int:
    """The per-process batch for the global ``batch_size``; raises :class:`ConfigError` when it
    does not divide by the world size."""
    size = world_size()
    if batch_size % size:
        raise ConfigError(f"batch_size {batch_size} is the global batch and must divide by the "
                          f"{size} processes of this run",
                          hint=f"pass --batch-size {max(size, batch_size // size * size)} "
                               f"(or a multiple of {size})")
    return batch_size // size


def describe(batch_size: int) -> dict[str, Any]:
    """kanjo.json's ``distributed`` record: world size, global and per-device batch, and the
    process group's backend (gloo, nccl; None for one process). Raises :class:`ConfigError`
    when ``batch_size`` does not divide by the world size."""
    size = world_size()
    backend = None
    if size > 1:
        import torch.distributed as dist

        # "cpu:gloo" on CPUs, "cpu:gloo,cuda:nccl" with GPUs: the backend of the devices used
        pairs = dict(part.split(":") for part in dist.get_backend_config().split(","))
        backend = pairs.get("cuda", pairs.get("cpu"))
    return {"world_size": size, "global_batch": batch_size,
            "per_device_batch": per_device_batch(batch_size), "backend": backend}


def init_process_group() -> None:
    """Join the launcher's process group (accelerate's ``PartialState``: gloo on CPUs, NCCL on
    GPUs) before anything needs a barrier; a no-op for one process."""
    if world_size() > 1:
        from accelerate import PartialState

        PartialState()


def barrier() -> None:
    """Wait until every process gets here (a no-op for one process)."""
    if world_size() > 1:
        import torch.distributed as dist

        dist.barrier()


def on_main_first(step: Callable[[], T]) -> T | None:
    """Run ``step`` on rank 0 alone while the other ranks wait; a :class:`KanjoError` it
    raises is raised on every rank (so every process exits with the same message and code).
    Returns ``step``'s result on rank 0, None elsewhere."""
    if world_size() == 1:
        return step()
    import torch.distributed as dist

    result, problem = None, None
    if is_main_process():
        try:
            result = step()
        except KanjoError as exc:
            problem = exc
    shared = [problem]
    dist.broadcast_object_list(shared, src=0)
    if shared[0] is not None:
        raise shared[0]
    return result
