"""kill -9 fault injection, shared by tests/test_faults.py and benchmarks/faults.py: run a kanjo
command as its own process group, SIGKILL the whole group at a moment (or when something appears
on disk), and judge what it left behind.

The invariant judged: an output path either does not exist or is complete (it loads, its files
match the sha256 recorded in kanjo.json or build.json, and it predicts); nothing is left next to
it but the ``.OUT.partial`` work directory that ``--resume`` continues.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD_ENCODER = ("from kanjo.models.default_encoder import default_encoder_dir; "
                 "print(default_encoder_dir())")
"""``python -c`` code that builds (or verifies) the default encoder under ``$KANJO_HOME``."""


def command_env(**extra: str) -> dict[str, str]:
    """The environment of a kanjo subprocess: this checkout's ``src`` first on PYTHONPATH, one
    OpenMP thread, no hub."""
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra}


def kanjo_argv(*args: str | Path) -> list[str]:
    """``python -m kanjo ARGS`` with this interpreter."""
    return [sys.executable, "-m", "kanjo", *map(str, args)]


def build_argv() -> list[str]:
    """The default-encoder build as a command (it honours ``$KANJO_HOME``)."""
    return [sys.executable, "-c", BUILD_ENCODER]


@dataclass
class Run:
    """One run of a command: ``killed`` when the SIGKILL came first, the exit code otherwise."""

    seconds: float
    """From the start to the kill (or to the exit)."""
    killed: bool
    returncode: int
    output: str


def run_command(argv: list[str], env: dict[str, str], at: float | None = None,
                until: Callable[[], bool] | None = None, timeout: float = 600) -> Run:
    """Run ``argv`` in a new session; SIGKILL its whole process group ``at`` seconds after the
    start, or as soon as ``until()`` is true (polled about every millisecond), unless it exits
    first. Without ``at`` and ``until`` it runs to completion (a ``timeout`` kills it)."""
    started = time.perf_counter()
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          start_new_session=True) as proc:
        if at is None and until is None:
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
            return Run(time.perf_counter() - started, False, proc.returncode,
                       out.decode("utf-8", "replace"))
        # an unread pipe could fill and stall the command: collect its output in a thread
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            reader = pool.submit(proc.stdout.read)  # type: ignore[union-attr]
            killed = False
            while proc.poll() is None:
                elapsed = time.perf_counter() - started
                if (at is not None and elapsed >= at) or (until is not None and until()) or \
                        elapsed > timeout:
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.001)
            seconds = time.perf_counter() - started
            proc.wait()
            out = reader.result()
    return Run(seconds, killed, proc.returncode, out.decode("utf-8", "replace"))


def check_classifier(out: Path) -> None:
    """Raise unless ``out`` is a complete classifier: it loads, every weight file matches its
    recorded sha256, and it predicts one of its labels."""
    from kanjo.inference.classifier import Classifier
    from kanjo.storage import verify

    model = Classifier.load(out, device="cpu")
    verify(out, model.meta, full=True)
    if not model.meta.get("checksums"):
        raise AssertionError(f"{out}: kanjo.json records no checksums")
    label = model.predict(["朝食は最高でした。"])[0]
    if label not in model.labels.names:
        raise AssertionError(f"{out}: predicted {label!r}")


def check_masked_lm(out: Path) -> None:
    """Raise unless ``out`` is a complete ``kanjo pretrain`` output that fills a mask."""
    from kanjo.inference.fill_mask import MaskFiller
    from kanjo.storage import read_meta, verify

    meta = read_meta(out)
    if not meta.get("checksums"):
        raise AssertionError(f"{out}: kanjo.json records no checksums")
    verify(out, meta, full=True)
    MaskFiller.load(str(out))("温泉は[MASK]でした。", 3)


def check_encoder(dest: Path) -> None:
    """Raise unless ``dest`` is a complete default-encoder build: every file matches build.json
    (sha256, as a new process checks it) and it embeds a text."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from kanjo.models import default_encoder

    default_encoder._VERIFIED.clear()
    if default_encoder.default_encoder_dir(dest.parent.parent) != dest:
        raise AssertionError(f"{dest}: the build lives elsewhere")
    tokenizer = AutoTokenizer.from_pretrained(dest)
    model = AutoModel.from_pretrained(dest, add_pooling_layer=False)
    with torch.inference_mode():
        hidden = model(**tokenizer(["passage: 朝食は最高でした。"], return_tensors="pt"))
    if not torch.isfinite(hidden.last_hidden_state).all():
        raise AssertionError(f"{dest}: non-finite embeddings")


def judge(out: Path, check: Callable[[Path], None]) -> str:
    """``"absent"``, ``"complete"`` (``check`` passed) or ``"corrupt: WHY"``."""
    if not out.exists():
        return "absent"
    try:
        check(out)
    except Exception as exc:  # whatever fails to load is the finding
        return f"corrupt: {type(exc).__name__}: {exc}"
    return "complete"


def strays(out: Path, expected: tuple[str, ...] = ()) -> list[str]:
    """What lies next to ``out`` in its folder besides ``out`` itself and ``expected``."""
    if not out.parent.exists():
        return []
    keep = {out.name, *expected}
    return sorted(p.name for p in out.parent.iterdir() if p.name not in keep)
