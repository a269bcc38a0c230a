"""The data-integrity cases of ../shared/cases: every entry of its expected.json run through the
`kanjo` command and checked as that file's `about` field says (exit code, rows, labels, texts,
warnings; for exit 2 the words the message must name, no traceback, nothing written).

The files are real-world exports that cannot be copied here; the tests skip without them.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.conftest import run_cli as run

CASES = ROOT.parent / "shared" / "cases"
EXPECTED = json.loads((CASES / "expected.json").read_text("utf-8")) if (
    CASES / "expected.json").exists() else {"cases": []}
pytestmark = pytest.mark.skipif(not CASES.exists(), reason="needs ../shared/cases")


def _case_id(case: dict[str, Any]) -> str:
    model = case.get("model", {}).get("model", "")
    return f"{case['file']}-{case['cmd']}" + (f"-{model}" if model else "")


def _params() -> list[Any]:
    out = []
    for case in EXPECTED["cases"]:
        marks = [pytest.mark.slow] if case.get("model", {}).get("model") == "default" else []
        out.append(pytest.param(case, id=_case_id(case), marks=marks))
    return out


def _arg(value: str) -> str:
    return str(CASES / value[1:]) if value.startswith("@") else value


def _mentions(text: str, item: str | list[str]) -> bool:
    """``item`` (any one of a list) occurs in ``text``, case-insensitively; ``line 4`` must not
    be the start of ``line 41``."""
    if isinstance(item, list):
        return any(_mentions(text, one) for one in item)
    pattern = re.escape(item.lower()) + (r"(?!\d)" if item[-1:].isdigit() else "")
    return re.search(pattern, text.lower()) is not None


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple, Path]:
    """Predict cases' models, trained once per (data file, model, args)."""
    return {"dir": tmp_path_factory.mktemp("case-models")}


def _model_for(case: dict[str, Any], models: dict, capsys) -> Path:
    spec = case.get("model", {})
    key = (spec.get("train", "00-clean-reference.csv"), spec.get("model", "tfidf"),
           tuple(spec.get("args", [])))
    if key not in models:
        out = models["dir"] / f"m{len(models)}"
        code, _, err = run(["train", str(CASES / key[0]), "--out", str(out), "--model", key[1],
                            *key[2]], capsys)
        assert code == 0, err
        models[key] = out
    return models[key]


def _check_outcome(case: dict[str, Any], expect: dict[str, Any], code: int, stdout: str,
                   stderr: str, out: Path, tmp_path: Path) -> list[str]:
    """The ways this run differs from ``expect`` (empty: it is right)."""
    problems: list[str] = []
    if code != expect["exit"]:
        return [f"exit {code}, expected {expect['exit']}: {stderr[-600:]}"]
    message = stderr.replace(str(CASES / case["file"]), "FILE")
    if "Traceback" in stderr:
        problems.append("a traceback")
    if expect["exit"] == 2:
        for item in expect["must_mention"]:
            if not _mentions(message, item):
                problems.append(f"the message does not name {item!r}: {stderr}")
        left = [p.name for p in tmp_path.iterdir()]
        if left:
            problems.append(f"left behind: {left}")
        return problems
    for item in expect.get("warn", []):
        if not _mentions(message, item):
            problems.append(f"no warning names {item!r}: {stderr}")
    if case["cmd"] == "train":
        meta = json.loads((out / "kanjo.json").read_text("utf-8"))
        rows = meta["data"]["train"]["rows"] + meta["data"].get("dev", {}).get("rows", 0)
        wanted = expect["rows"] if isinstance(expect["rows"], list) else [expect["rows"]]
        if rows not in wanted:
            problems.append(f"{rows} rows, expected {wanted}")
        labels, expected_labels = set(meta["labels"]), set(expect["labels"])
        if expect.get("labels_fold"):
            from kanjo.data.normalize import fold_label

            labels = {fold_label(x) for x in labels}
            expected_labels = {fold_label(x) for x in expected_labels}
        if labels != expected_labels:
            problems.append(f"labels {sorted(labels)}, expected {sorted(expected_labels)}")
        if (out / "config.json").exists():
            id2label = json.loads((out / "config.json").read_text("utf-8"))["id2label"]
            if [id2label[k] for k in sorted(id2label, key=int)] != meta["labels"]:
                problems.append("config.json id2label disagrees with kanjo.json")
    else:
        output = [json.loads(line) for line in out.read_text("utf-8").split("\n") if line]
        if len(output) != expect["rows"]:
            problems.append(f"{len(output)} output rows, expected {expect['rows']}")
        if "texts" in expect and [r["text"] for r in output] != expect["texts"]:
            problems.append("the output texts differ from the file's")
        for a, b in expect.get("same_proba_pairs", []):
            pa = [output[a]["probabilities"][k] for k in sorted(output[a]["probabilities"])]
            pb = [output[b]["probabilities"][k] for k in sorted(output[b]["probabilities"])]
            if not np.allclose(pa, pb, atol=1e-5):
                problems.append(f"rows {a} and {b} score differently: {pa} vs {pb}")
    return problems


@pytest.mark.parametrize("case", _params())
def test_shared_case(case: dict[str, Any], models: dict, tmp_path: Path, capsys,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case of ../shared/cases/expected.json has the outcome it must have."""
    args = [_arg(a) for a in case["args"]]
    target = CASES / case["file"]
    if case["cmd"] == "train":
        data = CASES / case["data"] if "data" in case else target
        out = tmp_path / "model"
        command = ["train", str(data), "--out", str(out), *args]
        if "--model" not in args:
            command += ["--model", "tfidf"]
    else:
        model = _model_for(case, models, capsys)
        out = tmp_path / "out.jsonl"
        if case.get("stdin"):
            monkeypatch.setattr("sys.stdin", target.open(encoding="utf-8"))
            command = ["predict", str(model), "--input", "-", "--output", str(out), *args]
        else:
            command = ["predict", str(model), "--input", str(target), "--output", str(out),
                       *args]
    code, stdout, stderr = run(command, capsys)
    expect = case["expect"]
    options = expect.get("any_of", [expect])
    attempts = [_check_outcome(case, option, code, stdout, stderr, out, tmp_path)
                for option in options]
    assert any(not problems for problems in attempts), attempts
    if out.is_dir():
        shutil.rmtree(out)
