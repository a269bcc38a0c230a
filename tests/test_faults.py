"""kill -9 in the middle of train, export and the default-encoder build (issue 12, item 4): the
output is absent or complete, the recovery (``--resume``, or the command again) finishes with a
valid model, and nothing is left next to it. The kills are aimed at moments found on disk (a
checkpoint half-written, the model being staged); benchmarks/faults.py runs the seeded campaign
at random moments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import kanjo
from kanjo.errors import KanjoError
from kanjo.storage import staging_directory, work_dir
from tests.conftest import TINY, cli_flags
from tests.fault_injection import (
    build_argv,
    check_classifier,
    check_encoder,
    command_env,
    judge,
    kanjo_argv,
    run_command,
    strays,
)

OPTIONS = dict(TINY, epochs=6, eval_steps=8)  # 120 rows / 16 = 8 steps an epoch: 48 steps


def _checkpoint_being_written(out: Path) -> bool:
    """A checkpoint after the first (so a complete one is there too) lacks trainer_state.json,
    which Trainer writes last: it is being saved (or rotated away)."""
    return any(int(p.name.rsplit("-", 1)[1]) >= 16 and not (p / "trainer_state.json").exists()
               for p in (work_dir(out) / "checkpoints").glob("checkpoint-*"))


KILL_AT = {
    "the work directory appears": lambda out: work_dir(out).exists(),
    "a checkpoint is half-written": _checkpoint_being_written,
    "the model is being staged": lambda out: (work_dir(out) / "model").exists(),
}


@pytest.mark.parametrize("moment", list(KILL_AT))
def test_killed_train_is_absent_or_complete_and_resumes(
        moment: str, tmp_path: Path, tiny_bert: Path, toy_csv: Path) -> None:
    out = tmp_path / "model"
    argv = kanjo_argv("train", toy_csv, "--out", out, "--model", tiny_bert, *cli_flags(OPTIONS))
    run = run_command(argv, command_env(), until=lambda: KILL_AT[moment](out))
    assert run.killed, f"the run ended before {moment}:\n{run.output[-2000:]}"
    assert judge(out, check_classifier) in ("absent", "complete")
    assert set(strays(out)) <= {".model.partial"}
    resumable = (work_dir(out) / "run.json").exists()
    if moment == "a checkpoint is half-written":
        assert resumable and not out.exists()
    model = kanjo.train(toy_csv, out, model=str(tiny_bert), resume=resumable,
                        overwrite=out.exists(), **OPTIONS)
    assert judge(out, check_classifier) == "complete"
    assert model.meta["train_steps"] == 48
    assert strays(out) == []


def test_killed_export_leaves_nothing_the_rerun_does_not_clean(tmp_path: Path,
                                                                trained: Path) -> None:
    """The staging directory of a killed export is removed by the next export of that output
    (it used to stay forever beside it)."""
    from kanjo.export.onnx import export

    out = tmp_path / "onnx"
    run = run_command(kanjo_argv("export", trained, "--out", out), command_env(),
                      until=lambda: any(tmp_path.glob(".onnx.staging-*/model.onnx")))
    assert run.killed, run.output[-2000:]
    assert judge(out, check_classifier) == "absent"
    left = strays(out)
    assert len(left) == 1 and left[0].startswith(".onnx.staging-")
    export(trained, out)
    assert judge(out, check_classifier) == "complete"
    assert strays(out) == []


def test_only_dead_writers_leftovers_are_swept(tmp_path: Path) -> None:
    """What a killed writer leaves (an unlocked staging directory, the old output of an
    interrupted --overwrite) goes; the staging directory of a live writer stays."""
    out = tmp_path / "model"
    for name in (".model.staging-0badc0de", ".model.old-0badc0de", ".other.staging-0badc0de"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"half")
    with staging_directory(out) as first, staging_directory(out) as second:
        assert first.is_dir() and second.is_dir() and first != second
        assert strays(out, (first.name, second.name)) == [".other.staging-0badc0de"]
    assert strays(out) == [".other.staging-0badc0de"]


def test_a_damaged_run_record_is_a_kanjo_error(tmp_path: Path, tiny_bert: Path,
                                              toy_csv: Path) -> None:
    out = tmp_path / "model"
    work_dir(out).mkdir()
    (work_dir(out) / "run.json").write_text('{"config": {"mod', encoding="utf-8")
    with pytest.raises(KanjoError, match="damaged") as caught:
        kanjo.train(toy_csv, out, model=str(tiny_bert), resume=True, **OPTIONS)
    assert "run.json" in str(caught.value)


def test_killed_encoder_build_is_absent_and_the_next_build_succeeds(tmp_path: Path) -> None:
    """Killed while writing model.safetensors: no encoder directory, and the next build (which
    removes the ~500 MB the killed one left) gives a verified encoder."""
    from kanjo.models.default_encoder import default_encoder_dir

    home = tmp_path / "home"
    models = home / "models"
    run = run_command(build_argv(), command_env(KANJO_HOME=str(home)),
                      until=lambda: any(models.glob(".*.staging-*/model.safetensors")))
    assert run.killed, run.output[-2000:]
    assert [p.name for p in models.iterdir() if not p.name.startswith(".")] == []
    dest = default_encoder_dir(home)
    assert judge(dest, check_encoder) == "complete"
    assert [p.name for p in models.iterdir()] == [dest.name]
    assert json.loads((dest / "build.json").read_text())["files"]
    shutil.rmtree(home)
