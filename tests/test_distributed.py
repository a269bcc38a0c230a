"""`kanjo train` under `torchrun --nproc_per_node 2` on the CPU (gloo): one output, one set of
logs, the dev metrics of a single-process run with the same global batch, and --resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import TINY, cli_flags

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")
# The two runs see the same rows in the same global batches, but DDP averages the gradients of
# two half-batches, whose length-grouped composition differs from the single process's: the
# weights are not bit-identical, so the dev figures are compared within a tolerance.
MACRO_F1_TOLERANCE = 0.05

pytestmark = pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(args: list[str]) -> list[str]:
    return [str(TORCHRUN), "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
            "--master_port", str(free_port()), "-m", "kanjo", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1"}


def test_two_processes_train_one_model_like_one_process(tmp_path: Path, tiny_bert: Path,
                                                        toy_csv: Path, trained: Path) -> None:
    out = tmp_path / "ddp"
    done = subprocess.run(torchrun(["train", str(toy_csv), "--out", str(out), "--model",
                                    str(tiny_bert), *cli_flags(TINY)]),
                          env=env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"], "one output, no leftovers"
    assert len(list((out / "logs").glob("events.out.tfevents.*"))) == 1, "one set of logs"
    stderr = done.stderr.replace("\r", "\n")
    assert stderr.count(f"training {tiny_bert} on") == 1, "rank 0 alone prints"
    assert stderr.count(f"saved {out}") == 1 and stderr.count("dev: macro-F1") == 1
    meta = json.loads((out / "kanjo.json").read_text("utf-8"))
    single = json.loads((trained / "kanjo.json").read_text("utf-8"))
    assert meta["distributed"] == {"world_size": 2, "global_batch": 16, "per_device_batch": 8,
                                   "backend": "gloo"}
    assert single["distributed"]["world_size"] == 1
    assert meta["train_steps"] == single["train_steps"] == 240, "the same optimiser steps"
    ddp_f1, one_f1 = meta["dev_metrics"]["macro_f1"], single["dev_metrics"]["macro_f1"]
    assert abs(ddp_f1 - one_f1) <= MACRO_F1_TOLERANCE, (ddp_f1, one_f1)


def test_a_killed_ddp_run_resumes(tmp_path: Path, tiny_bert: Path, toy_csv: Path) -> None:
    out = tmp_path / "model"
    options = dict(TINY, epochs=10)
    args = ["train", str(toy_csv), "--out", str(out), "--model", str(tiny_bert),
            *cli_flags(options), "--eval-steps", "8"]
    proc = subprocess.Popen(torchrun(args), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    checkpoints = tmp_path / ".model.partial" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if any(checkpoints.glob("checkpoint-*/trainer_state.json")):
            time.sleep(0.5)
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed"
    workers = psutil.Process(proc.pid).children(recursive=True)  # their own sessions
    for process in [psutil.Process(proc.pid), *workers]:
        process.send_signal(signal.SIGKILL)
    proc.wait()
    psutil.wait_procs(workers, timeout=30)
    assert not out.exists(), "a killed run leaves no model directory"
    done = subprocess.run(torchrun([*args, "--resume"]), env=env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((out / "kanjo.json").read_text("utf-8"))
    assert meta["train_steps"] == 80 and meta["distributed"]["world_size"] == 2
    assert not (tmp_path / ".model.partial").exists()
    assert len(list((out / "logs").glob("events.out.tfevents.*"))) >= 1
