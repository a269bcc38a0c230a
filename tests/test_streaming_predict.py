"""`kanjo predict --input BIG --output OUT`: chunked reads and writes in flat memory, input
order, the input's columns carried through, --shard, and --resume after a kill."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE, SUBJECTS, run_cli

ROOT = Path(__file__).resolve().parents[1]
# Peak RSS of a 200,000-line run against a 20,000-line run. kanjo's predict before streaming
# held the input and the output in memory: 545 MB against 262 MB on these files with this model
# (+1.5 kB a row, 2.1×); streaming peaks at one chunk's memory: 243 MB against 243 MB.
RSS_MARGIN = 1.10


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, toy_csv: Path) -> Path:
    """A TF-IDF model on the toy set: the fastest real model, so that 200,000 rows take
    seconds (the streaming is the same for every backend)."""
    import kanjo

    out = tmp_path_factory.mktemp("stream") / "tfidf"
    kanjo.train(toy_csv, out, model="tfidf")
    return out


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    endings = POSITIVE + NEGATIVE + NEUTRAL
    return [f"{rng.choice(SUBJECTS)}{rng.choice(endings)}。その{i}" for i in range(n)]


def test_table_columns_are_carried_through_id_first(model: Path, tmp_path: Path,
                                                    capsys) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "shop", "id", "label"])
        writer.writerows([["朝食は最高でした。", "札幌", "a1", "positive"],
                          ["部屋は最悪でした。", "那覇", "a2", "negative"]])
    out = tmp_path / "p.csv"
    code, _, err = run_cli(["predict", str(model), "--input", str(source), "--output",
                            str(out)], capsys)
    assert code == 0, err
    rows = list(csv.reader(out.open(encoding="utf-8")))
    # the input's own label column is kept; kanjo's prediction is then kanjo_label
    assert rows[0] == ["id", "text", "shop", "label", "kanjo_label", "score", "p_negative",
                       "p_neutral", "p_positive"]
    assert [r[:4] for r in rows[1:]] == [["a1", "朝食は最高でした。", "札幌", "positive"],
                                         ["a2", "部屋は最悪でした。", "那覇", "negative"]]
    assert [r[4] for r in rows[1:]] == ["positive", "negative"]

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"review": "温泉は最高でした。", "id": 7, "meta": {"stars": 5}},
        {"review": "料理は最悪でした。", "id": 8, "meta": None}]), "utf-8")
    code, out_text, err = run_cli(["predict", str(model), "--input", str(source)], capsys)
    assert code == 0, err
    first = json.loads(out_text.splitlines()[0])
    assert list(first) == ["id", "review", "meta", "label", "score", "probabilities"]
    assert first["id"] == 7 and first["meta"] == {"stars": 5} and first["label"] == "positive"


def test_plain_text_gets_line_numbers_and_shards_merge_to_the_whole(model: Path,
                                                                   tmp_path: Path,
                                                                   capsys) -> None:
    lines = texts(50)
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n", "utf-8")
    whole = tmp_path / "whole.tsv"
    code, _, err = run_cli(["predict", str(model), "--input", str(source), "--output",
                            str(whole), "--chunk-size", "7"], capsys)
    assert code == 0, err
    rows = list(csv.reader(whole.open(encoding="utf-8"), delimiter="\t"))
    assert rows[0][:3] == ["line", "text", "label"]
    assert [(int(r[0]), r[1]) for r in rows[1:]] == list(enumerate(lines, start=1))
    merged = []
    for i in range(3):
        part = tmp_path / f"part{i}.tsv"
        code, _, err = run_cli(["predict", str(model), "--input", str(source), "--output",
                                str(part), "--chunk-size", "7", "--shard", f"{i}/3"], capsys)
        assert code == 0, err
        shard_rows = list(csv.reader(part.open(encoding="utf-8"), delimiter="\t"))
        assert shard_rows[0] == rows[0]
        # shard i holds chunks i, i+3, …: lines 7·i+1 … 7·i+7, then 7·(i+3)+1 …
        assert int(shard_rows[1][0]) == 7 * i + 1
        merged += shard_rows[1:]
    assert sorted(merged, key=lambda r: int(r[0])) == rows[1:]
    code, _, err = run_cli(["predict", str(model), "--input", str(source), "--shard", "3/3"],
                           capsys)
    assert code == 2 and "--shard" in err


def test_a_bad_row_late_in_the_input_leaves_no_output(model: Path, tmp_path: Path,
                                                      capsys) -> None:
    lines = texts(30)
    lines[24] = "　"
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n", "utf-8")
    out = tmp_path / "p.jsonl"
    code, _, err = run_cli(["predict", str(model), "--input", str(source), "--output",
                            str(out), "--chunk-size", "4"], capsys)
    assert code == 2 and "line 25" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"], "nothing half-written"


def _vm_hwm(pid: int) -> int | None:
    """The peak resident memory (kB) of process ``pid``'s own address space, or None once it
    has exited. Not ``ru_maxrss``: Linux carries the parent's peak across fork and exec into
    the child's ``ru_maxrss``, so a child of this (large) test process would report the
    test's own peak."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0]) if "VmHWM" in fields else None


def _run(args: list[str], kill_after_rows: int | None = None,
         progress: Path | None = None) -> tuple[int, int]:
    """Run `kanjo predict` as a child process: (exit status, its peak RSS in kB, read from
    /proc every 20 ms until it exits). With ``kill_after_rows``, SIGKILL it once its progress
    record has that many rows."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    peak = 0
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([sys.executable, "-m", "kanjo", "predict", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=errors)
        deadline = time.time() + 300
        while proc.poll() is None and time.time() < deadline:
            peak = max(peak, _vm_hwm(proc.pid) or 0)
            if kill_after_rows is not None:
                try:
                    rows = json.loads(progress.read_text("utf-8"))["state"]["rows"]
                except (OSError, ValueError, KeyError):
                    rows = 0
                if rows >= kill_after_rows:
                    proc.send_signal(signal.SIGKILL)
            time.sleep(0.02)
        code = proc.wait(timeout=60)
        errors.seek(0)
        assert code in (0, -signal.SIGKILL), errors.read().decode()[-2000:]
    return code, peak


def test_200k_lines_stream_in_flat_memory_and_resume_after_a_kill(model: Path,
                                                                  tmp_path: Path,
                                                                  capsys) -> None:
    lines = texts(200_000)
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text("\n".join(lines[:20_000]) + "\n", "utf-8")
    big.write_text("\n".join(lines) + "\n", "utf-8")
    code, rss_small = _run([str(model), "--input", str(small), "--output",
                            str(tmp_path / "small.jsonl")])
    assert code == 0 and rss_small > 50_000, rss_small  # read from /proc: a Python process
    out = tmp_path / "big.jsonl"
    args = [str(model), "--input", str(big), "--output", str(out), "--chunk-size", "4096"]
    code, rss_killed = _run(args, kill_after_rows=60_000,
                            progress=tmp_path / ".big.jsonl.progress.json")
    assert code == -signal.SIGKILL
    assert not out.exists(), "a killed run leaves no output file"
    partial = tmp_path / ".big.jsonl.partial"
    assert partial.exists()
    code, _, err = run_cli(["predict", *args], capsys)
    assert code == 2 and "pass --resume" in err, "an interrupted run is not overwritten"
    code, _, err = run_cli(["predict", *args[:-1], "1000", "--resume"], capsys)
    assert code == 2 and "changed: chunk_rows" in err, "a resume must keep the options"
    code, _, err = run_cli(["predict", str(model), "--input", str(small), "--output",
                            str(tmp_path / "none.jsonl"), "--resume"], capsys)
    assert code == 2 and "nothing to resume" in err
    code, rss_resumed = _run([*args, "--resume"])
    assert code == 0
    assert not partial.exists() and not (tmp_path / ".big.jsonl.progress.json").exists()
    with out.open(encoding="utf-8") as handle:
        got = [(row["line"], row["text"]) for row in map(json.loads, handle)]
    assert got == list(enumerate(lines, start=1)), "every line exactly once, in order"
    assert max(rss_killed, rss_resumed) <= rss_small * RSS_MARGIN, \
        (rss_small, rss_killed, rss_resumed)
