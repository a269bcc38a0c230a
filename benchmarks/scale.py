"""Scale-out: streaming `kanjo predict` on 1,000,000 lines, Ray Data against `predict`, and DDP
training on 2 CPU processes against 1.

    python benchmarks/scale.py [--model small|DIR] [--lines 1000000] [--ray-lines 100000]
                               [--ddp-model default|small] [--ddp-rows 2000] [--work DIR]
                               [--record]

* **predict**: ``--lines`` lines (the 52,001 JRTE unlabelled sentences, cycled) through the int8
  export with ``kanjo predict --input BIG --output OUT.jsonl`` in a child process: rows/s and
  the child's peak RSS, against a run on a tenth of the lines (flat memory: the same peak).
* **Ray Data**: ``--ray-lines`` lines through ``kanjo predict --engine ray`` with 2 actors on a
  local 2-CPU cluster, against ``kanjo predict`` on the same file in the same run: the
  overhead ratio (Ray seconds ÷ predict seconds).
* **DDP**: ``kanjo train`` of ``--ddp-model`` (the default encoder, or the small BERT) for one
  epoch on ``--ddp-rows`` JRTE pn rows, under ``torchrun --nproc_per_node 2`` (gloo) against
  one process, the same global batch and steps: seconds and dev macro-F1.

``--model small`` (the default) fine-tunes a 2-layer, 64-wide BERT with the default encoder's
tokenizer (250,002 pieces) on pn: its encoder costs little, so the figures show kanjo's own
streaming, Ray and DDP overheads, and 1,000,000 lines fit in minutes on 2 cores. ``--model DIR``
takes any kanjo model instead (the default encoder int8 runs at about 600 rows/s here: see the
Speed section). The data (CC BY-NC-SA 4.0) is read from ../shared/data; the generated inputs
live in WORK, never in the project.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from results import (  # (benchmarks/ is on sys.path)
    PN,
    ROOT,
    UNLABELED,
    replace_section,
    stored_or_run,
)

SECTION = "## Scale out (`benchmarks/scale.py`)"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
# one epoch of fine-tuning, no early stopping: the same steps for 1 and 2 processes
DDP = dict(recipe="finetune", epochs=1, batch_size=16, min_steps=0, early_stopping=0)
SMALL = dict(DDP, lr=1e-3, warmup=0.1, freeze_embeddings=False)


def vm_hwm_kb(pid: int) -> int:
    """Peak resident memory (kB) of process ``pid``'s own address space (0 once it is gone).
    Not ``ru_maxrss``: Linux carries a parent's peak across fork and exec into its child's."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


def kanjo(*args: str, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run ``python -m kanjo ARGS`` as a child: (wall seconds, its peak RSS in MB, read from
    /proc every 50 ms)."""
    started = time.time()
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "kanjo", *args], env=env or ENV,
                                stdout=sink, stderr=subprocess.PIPE, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, vm_hwm_kb(proc.pid))
            time.sleep(0.05)
    seconds = time.time() - started
    stderr = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"kanjo {' '.join(args)} failed:\n{stderr[-3000:]}")
    return seconds, peak // 1024


def small_base(work: Path) -> Path:
    """A 2-layer, 64-wide BERT masked LM with the default encoder's tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, set_seed

    from kanjo.models.resolve import resolve

    base = work / "small-base"
    if (base / "config.json").exists():
        return base
    tokenizer = AutoTokenizer.from_pretrained(resolve("default").location)
    tokenizer.save_pretrained(base)
    set_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128,
                        max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    BertForMaskedLM(config).save_pretrained(base)
    return base


def pn_subset(work: Path, rows: int) -> Path:
    """The first ``rows`` train rows and the dev rows of JRTE pn as a CSV (in WORK)."""
    import csv

    from kanjo.data import read_table

    path = work / f"pn-{rows}.csv"
    if path.exists():
        return path
    table = read_table(PN)
    train = [i for i, s in enumerate(table.splits) if s == "train"][:rows]
    dev = [i for i, s in enumerate(table.splits) if s == "dev"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "split"])
        for i in train + dev:
            writer.writerow([table.texts[i], table.labels[i], table.splits[i]])
    return path


def lines_file(work: Path, n: int) -> Path:
    """``n`` lines: the unlabelled sentences, cycled."""
    path = work / f"lines-{n}.txt"
    if path.exists():
        return path
    sentences = [s for s in UNLABELED.read_text("utf-8").split("\n") if s.strip()]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(sentences[i % len(sentences)] + "\n")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_args(data: Path, out: Path, base: str, options: dict[str, Any]) -> list[str]:
    flags = []
    for key, value in options.items():
        name = key.replace("_", "-")
        flags += ([f"--{name}" if value else f"--no-{name}"] if isinstance(value, bool)
                  else [f"--{name}", str(value)])
    return ["train", str(data), "--out", str(out), "--model", base, "--overwrite", *flags]


def ddp(work: Path, base: str, rows: int) -> dict[str, Any]:
    data = pn_subset(work, rows)
    results = {}
    options = DDP if base == "default" else SMALL
    for processes in (1, 2):
        out = work / f"ddp-{Path(base).name}-{processes}"
        args = train_args(data, out, base, options)
        env = {**ENV, "OMP_NUM_THREADS": str(max(1, os.cpu_count() // processes))}
        started = time.time()
        command = [sys.executable, "-m", "kanjo", *args] if processes == 1 else [
            str(Path(sys.executable).with_name("torchrun")), "--nproc_per_node", "2",
            "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "kanjo",
            *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        meta = json.loads((out / "kanjo.json").read_text("utf-8"))
        results[str(processes)] = {"seconds": time.time() - started,
                              "train_seconds": meta["timings"]["train_seconds"],
                              "macro_f1": meta["dev_metrics"]["macro_f1"],
                              "dev_rows": meta["dev_metrics"]["n"],
                              "steps": meta["train_steps"], "distributed": meta["distributed"]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="small")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--ray-lines", type=int, default=100_000)
    parser.add_argument("--ddp-model", default="default", help="default or small")
    parser.add_argument("--ddp-rows", type=int, default=2_000)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-scale")
    parser.add_argument("--record", action="store_true", help="write RESULTS.md's section")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    base = str(small_base(work)) if args.model == "small" else None
    model = Path(args.model) if base is None else work / "small-pn"
    if base is not None and not (model / "kanjo.json").exists():
        kanjo(*train_args(pn_subset(work, args.ddp_rows), model, base, SMALL))
    int8 = work / "int8"
    if not (int8 / "kanjo.json").exists():
        kanjo("export", str(model), "--out", str(int8), "--quantize", "int8")

    def streaming() -> dict[str, Any]:
        out = {}
        for n in (args.lines // 10, args.lines):
            seconds, rss = kanjo("predict", str(int8), "--input", str(lines_file(work, n)),
                                 "--output", str(work / f"pred-{n}.jsonl"), "--no-progress")
            out[str(n)] = {"seconds": seconds, "rss_mb": rss}
        return out

    def ray_vs_predict() -> dict[str, Any]:
        source = lines_file(work, args.ray_lines)
        local, _ = kanjo("predict", str(int8), "--input", str(source), "--output",
                         str(work / "ray-local.jsonl"), "--no-progress")
        ray_s, ray_rss = kanjo("predict", str(int8), "--engine", "ray", "--actors", "2",
                               "--input", str(source), "--output", str(work / "ray-out"))
        same = (work / "ray-local.jsonl").read_text("utf-8").count("\n") == \
            (work / "ray-out" / f"{source.stem}.jsonl").read_text("utf-8").count("\n")
        return {"local_seconds": local, "ray_seconds": ray_s, "ray_driver_rss_mb": ray_rss,
                "rows_equal": same}

    stream = stored_or_run(work / f"streaming-{args.lines}.json", streaming)
    ray_run = stored_or_run(work / f"ray-{args.ray_lines}.json", ray_vs_predict)
    ddp_base = "default" if args.ddp_model == "default" else str(small_base(work))
    ddp_run = stored_or_run(work / f"ddp-{args.ddp_model}-{args.ddp_rows}.json",
                            lambda: ddp(work, ddp_base, args.ddp_rows))
    load_end = os.getloadavg()[0]
    section = render(args, stream, ray_run, ddp_run, load_start, load_end)
    print(section)
    if args.record:
        replace_section(section)


def render(args: argparse.Namespace, stream: dict, ray_run: dict, ddp_run: dict,
           load_start: float, load_end: float) -> str:
    import kanjo as package

    small, big = stream[str(args.lines // 10)], stream[str(args.lines)]
    one, two = ddp_run["1"], ddp_run["2"]
    model = ("a 2-layer, 64-wide BERT with the default encoder's 250,002-piece tokenizer, "
             f"fine-tuned on {args.ddp_rows:,} pn rows, exported `--quantize int8`"
             if args.model == "small" else f"`{args.model}`, exported `--quantize int8`")
    ratio = ray_run["ray_seconds"] / ray_run["local_seconds"]
    trained = "the default encoder" if args.ddp_model == "default" else "the small BERT"
    return "\n".join([
        SECTION, "",
        f"`python benchmarks/scale.py --record`, {time.strftime('%Y-%m-%d')}, kanjo "
        f"{package.__version__}; Python {platform.python_version()}, {os.cpu_count()} CPU "
        f"cores shared with other jobs (load average {load_start:.1f} at the start, "
        f"{load_end:.1f} at the end); one run. Model: {model}.", "",
        "| what | rows | seconds | rows/s | peak RSS |", "|---|---:|---:|---:|---:|",
        f"| `kanjo predict` (streaming) | {args.lines // 10:,} | {small['seconds']:.1f} | "
        f"{args.lines // 10 / small['seconds']:,.0f} | {small['rss_mb']} MB |",
        f"| `kanjo predict` (streaming) | {args.lines:,} | {big['seconds']:.1f} | "
        f"{args.lines / big['seconds']:,.0f} | {big['rss_mb']} MB |",
        f"| `kanjo predict` | {args.ray_lines:,} | {ray_run['local_seconds']:.1f} | "
        f"{args.ray_lines / ray_run['local_seconds']:,.0f} | |",
        f"| `kanjo predict --engine ray`, 2 actors | {args.ray_lines:,} | "
        f"{ray_run['ray_seconds']:.1f} | {args.ray_lines / ray_run['ray_seconds']:,.0f} | "
        f"{ray_run['ray_driver_rss_mb']} MB (driver) |", "",
        f"DDP: `kanjo train` of {trained}, one epoch on {args.ddp_rows:,} pn train rows (dev: "
        f"the {one['dev_rows']:,} pn dev rows), the same global batch and steps.", "",
        "| training | processes | global batch | steps | seconds (train) | dev macro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
        f"| `kanjo train` | 1 | {one['distributed']['global_batch']} | {one['steps']} | "
        f"{one['seconds']:.0f} ({one['train_seconds']:.0f}) | {one['macro_f1']:.4f} |",
        f"| `torchrun --nproc_per_node 2 -m kanjo train` (gloo) | 2 | "
        f"{two['distributed']['global_batch']} | {two['steps']} | {two['seconds']:.0f} "
        f"({two['train_seconds']:.0f}) | {two['macro_f1']:.4f} |", "",
        f"- Memory is flat: {args.lines:,} lines peak at {big['rss_mb']} MB against "
        f"{small['rss_mb']} MB for a tenth of them (4,096-row chunks).",
        f"- Ray Data overhead: {ratio:.2f}× the seconds of `kanjo predict` on the same "
        f"{args.ray_lines:,} lines (Ray's start-up of a local cluster included; rows "
        f"{'equal' if ray_run['rows_equal'] else 'DIFFER'}). On one machine with 2 cores, two "
        "single-threaded actors do the work of one two-threaded process: Ray pays off with "
        "more machines, not here.",
        f"- DDP on one 2-core CPU machine: {two['seconds'] / one['seconds']:.2f}× the seconds "
        "of one process. Two processes share the same two cores and add a gradient all-reduce "
        "per step, so DDP is expected to be no faster here; it is for several GPUs or nodes. "
        f"Dev macro-F1 {two['macro_f1']:.4f} against {one['macro_f1']:.4f} (the same global "
        "batch and steps; one run each). DDP splits each global batch into per-process halves "
        "of another length-grouped composition, so the runs are not bit-identical; a short "
        "run can land on either side of a tipping point (0.2555 is the majority class), so a "
        "gap here is seed-like noise, not a DDP effect. tests/test_distributed.py compares "
        "converged runs (the tiny model, 240 steps: dev macro-F1 within 0.05).",
        "",
    ])


if __name__ == "__main__":
    main()
