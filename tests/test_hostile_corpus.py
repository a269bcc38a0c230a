"""The hostile-input corpus (tests/hostile_corpus.py, ≥ 40 generated files) through `kanjo
train`, `evaluate`, `predict` and `cv`: each file is either handled correctly (asserted) or
refused with exit 2 naming the file, line and problem — no traceback, nothing left behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli as run
from tests.hostile_corpus import COMMANDS, corpus, rows, table_text, write_corpus

CORPUS = corpus()


def test_the_corpus_has_at_least_40_files() -> None:
    assert len({item.name for item in CORPUS}) == len(CORPUS) >= 40


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paths = write_corpus(tmp_path_factory.mktemp("hostile"))
    yield paths
    for path in paths.values():  # let pytest clean up the unreadable file
        if path.exists() and not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kanjo.training.finetune import train

    directory = tmp_path_factory.mktemp("hostile-model")
    (directory / "train.csv").write_text(table_text(rows(8)), "utf-8")
    return train(directory / "train.csv", directory / "model", model="tfidf").path


def _command(command: str, file: Path, model: Path, out: Path) -> list[str]:
    return {
        "train": ["train", str(file), "--model", "tfidf", "--out", str(out / "model")],
        "evaluate": ["evaluate", str(model), str(file), "--json"],
        "predict": ["predict", str(model), "--input", str(file), "--output",
                    str(out / "predictions.jsonl")],
        "cv": ["cv", str(file), "--model", "tfidf", "--folds", "3", "--json"],
    }[command]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("item", CORPUS, ids=[item.name for item in CORPUS])
def test_hostile_file(item, command: str, corpus_files: dict[str, Path], model: Path,
                      tmp_path: Path, capsys) -> None:
    expect = item.outcome(command)
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr = run(_command(command, corpus_files[item.name], model, out), capsys)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert code == expect.exit, f"{item.name} ({item.holds}): exit {code}: {stderr}"
    if expect.exit == 2:
        assert stderr.startswith("error: "), stderr
        assert str(corpus_files[item.name]) in stderr, "the message names the file"
        for word in expect.mentions:
            assert word.lower() in stderr.lower(), f"{word!r} not in {stderr}"
        if expect.line is not None:
            assert re.search(rf"line {expect.line}(?!\d)", stderr), stderr
        assert not list(out.iterdir()), "nothing written"
        assert not list(tmp_path.glob(".*")), "no hidden work directory"
        return
    for word in expect.warn if command in ("train", "cv") else ():  # warnings of labelled reads
        assert word in stderr, f"no warning names {word!r}: {stderr}"
    if command == "train":
        meta = json.loads((out / "model" / "kanjo.json").read_text("utf-8"))
        n = meta["data"]["train"]["rows"] + meta["data"].get("dev", {}).get("rows", 0)
    elif command == "predict":
        output = [json.loads(line) for line in  # not splitlines(): a text may hold U+2028
                  (out / "predictions.jsonl").read_text("utf-8").split("\n") if line]
        n = len(output)
        if expect.texts is not None:
            assert tuple(r["text"] for r in output) == expect.texts
    else:
        n = json.loads(stdout)["n"]
    if expect.rows is not None:
        assert n == expect.rows
