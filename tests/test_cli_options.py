"""The training and pretraining flags come from the config dataclasses: names, defaults and help
in one place; `kanjo cv` takes every training option; `kanjo pretrain --config`."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.main import get_command

from kanjo.cli import app
from kanjo.config import PretrainConfig, TrainConfig
from tests.conftest import run_cli


def _options(command: str) -> dict[str, str]:
    """{flag: help} of one command, as click sees it."""
    click_command = get_command(app).commands[command]
    return {opt: param.help or "" for param in click_command.params
            for opt in param.opts}


@pytest.mark.parametrize("command,config", [("train", TrainConfig), ("cv", TrainConfig),
                                            ("pretrain", PretrainConfig)])
def test_every_field_is_a_flag_with_its_default(command: str, config: type) -> None:
    options = _options(command)
    docs = config.field_docs()
    for f in dataclasses.fields(config):
        flag = "--" + f.name.replace("_", "-")
        assert flag in options, flag
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        shown = re.search(r"\[default: (.*)\]$", options[flag]).group(1)
        expected = {True: "yes", False: "no", None: "none"}.get(default, default) \
            if isinstance(default, bool | None) else (
                ",".join(default) if isinstance(default, list) else default)
        assert shown == str(expected), (flag, shown, expected)
        assert options[flag].startswith(docs[f.name][:30])
    assert "--config" in options


def test_cv_takes_training_options(tmp_path: Path, capsys, toy_csv: Path) -> None:
    """A recipe option that only `train` had before (class weighting) reaches every fold."""
    code, out, err = run_cli(["cv", str(toy_csv), "--model", "tfidf", "--folds", "2",
                              "--class-weight", "balanced", "--json"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["cv", str(toy_csv), "--model", "tfidf", "--folds", "2",
                            "--class-weight", "inverse"], capsys)
    assert code == 2 and "class_weight" in err


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    from kanjo.cli.options import with_config_options

    seen: dict = {}

    @with_config_options(TrainConfig)
    def command(config: TrainConfig) -> None:
        seen["config"] = config

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("epochs: 2\nlr: 3e-4\nlabels: a,b\n", encoding="utf-8")
    flags = {f.name: None for f in dataclasses.fields(TrainConfig)}
    command(config_file=str(recipe), **{**flags, "lr": 5e-5})
    assert (seen["config"].epochs, seen["config"].lr, seen["config"].labels) == (2, 5e-5,
                                                                                  ["a", "b"])


def test_pretrain_reads_a_config_file(tmp_path: Path, capsys) -> None:
    text = tmp_path / "sentences.txt"
    text.write_text("部屋は広かった。\n", encoding="utf-8")
    recipe = tmp_path / "mlm.toml"
    recipe.write_text("mask-prob = 1.5\n", encoding="utf-8")
    code, _, err = run_cli(["pretrain", "--text", str(text), "--out", str(tmp_path / "m"),
                            "--config", str(recipe)], capsys)
    assert code == 2 and "mask-prob is out of range: 1.5" in err
    recipe.write_text("unknown_option = 1\n", encoding="utf-8")
    code, _, err = run_cli(["pretrain", "--text", str(text), "--out", str(tmp_path / "m"),
                            "--config", str(recipe)], capsys)
    assert code == 2 and "unknown option(s) unknown_option" in err


@pytest.mark.parametrize("args,message", [
    (["trian"], "No such command 'trian'"),
    (["train"], "Missing argument 'DATA'"),
    (["predict", "model", "--bogus"], "No such option: --bogus"),
    ([], "Usage: kanjo"),
])
def test_usage_errors_are_usage_errors(args: list[str], message: str, capsys) -> None:
    """A mistyped command line gets click's usage message and exit 2, not "internal error"."""
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert message in out + err and "internal error" not in out + err


def test_version(capsys) -> None:
    from kanjo import __version__

    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"kanjo {__version__}"


def test_help_lists_every_command_with_a_whole_summary(capsys) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for command in ("train", "cv", "evaluate", "predict", "export", "trim", "fill-mask",
                    "pretrain"):
        line = next(x for x in out.splitlines() if x.strip().startswith(command + " "))
        assert not line.rstrip().endswith("..."), line


def test_training_says_what_it_trains_and_when_it_stops_early(tmp_path: Path, capsys,
                                                              tiny_bert: Path,
                                                              toy_csv: Path) -> None:
    """A summary before training; a line when early stopping ends the run (a learning rate too
    small to change any prediction: no evaluation improves on the first). Patience counts only in
    the second half of the 20 steps: the run stops at step 10, not at step 4."""
    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "m"), "--model",
                            str(tiny_bert), "--recipe", "finetune", "--lr", "1e-12", "--epochs",
                            "5", "--min-steps", "0",
                            "--eval-steps", "2", "--early-stopping", "1"], capsys)
    assert code == 0, err
    summary = next(line for line in err.splitlines() if line.startswith("training "))
    assert "dev rows" in summary and "steps of 32 rows" in summary and "positive" in summary
    assert "early stopping at step 10 of 20" in err
    code, _, err = run_cli(["train", str(toy_csv), "--out", str(tmp_path / "t"), "--model",
                            "tfidf"], capsys)
    assert code == 0 and "training tfidf on " in err and "early stopping" not in err


def test_loading_a_model_prints_no_library_progress(trained_tiny: Path, capsys) -> None:
    code, out, err = run_cli(["predict", str(trained_tiny), "朝食は最高でした。"], capsys)
    assert code == 0 and "Loading weights" not in err and err.strip() == ""


@pytest.fixture(scope="module")
def trained_tiny(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, toy_csv: Path
                 ) -> Path:
    import kanjo

    out = tmp_path_factory.mktemp("tiny") / "m"
    kanjo.train(toy_csv, out, model=str(tiny_bert), recipe="finetune", epochs=1, min_steps=0)
    return out


def test_predict_reads_piped_stdin_and_writes_the_named_format(tmp_path: Path,
                                                               toy_csv: Path) -> None:
    import csv
    import os
    import subprocess
    import sys

    import kanjo

    model = tmp_path / "tfidf"
    kanjo.train(toy_csv, model, model="tfidf")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    run = [sys.executable, "-m", "kanjo", "predict", str(model)]
    piped = subprocess.run(run, input="朝食は最高でした。\n部屋は最悪でした。\n", text=True,
                           capture_output=True, env=env, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert [line.count('"label"') for line in piped.stdout.splitlines()] == [1, 1]
    out = tmp_path / "p.tsv"
    done = subprocess.run([*run, "朝食は最高でした。", "--output", str(out)], text=True,
                          capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.open(encoding="utf-8"), delimiter="\t"))
    assert rows[0][:3] == ["text", "label", "score"] and rows[1][0] == "朝食は最高でした。"
    bad = subprocess.run([*run, "朝食は最高でした。", "--output", str(tmp_path / "p.xlsx")],
                         text=True, capture_output=True, env=env, timeout=120)
    assert bad.returncode == 2 and "output format" in bad.stderr
    assert not (tmp_path / "p.xlsx").exists()
