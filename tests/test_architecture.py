"""The layers contract (pyproject.toml, import-linter) holds, and would catch a back-import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"),
                           "--no-cache"], cwd=src, env=env, capture_output=True, text=True,
                          timeout=300)


def test_import_contract_is_kept() -> None:
    done = _lint(ROOT / "src")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_a_back_import_breaks_the_contract(tmp_path: Path) -> None:
    """The same check on a copy of the package in which the data layer imports the CLI."""
    shutil.copytree(ROOT / "src" / "kanjo", tmp_path / "kanjo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    readers = tmp_path / "kanjo" / "data" / "readers.py"
    readers.write_text(readers.read_text(encoding="utf-8") + "\n\ndef _up():\n"
                       "    import kanjo.cli  # noqa\n", encoding="utf-8")
    done = _lint(tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "kanjo.data.readers -> kanjo.cli" in done.stdout
