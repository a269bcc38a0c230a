"""Fine-tuning with a tiny dev set: no checkpoint is selected and no temperature is fitted on a
handful of rows (12 dev rows once kept the first checkpoint, dev macro-F1 1.0, and fitted
T = 0.05: every prediction ≈ 1.0)."""

from __future__ import annotations

import json
from pathlib import Path

import kanjo
from kanjo.training.finetune import MIN_CALIBRATION_ROWS
from tests.conftest import TINY, toy_rows, write_csv


def test_tiny_dev_set_selects_nothing_and_fits_no_temperature(tmp_path: Path,
                                                              tiny_bert: Path) -> None:
    data = write_csv(tmp_path / "small.csv", toy_rows(20, seed=11))  # 60 rows → 6–7 dev rows
    options = {**TINY, "epochs": 5}
    clf = kanjo.train(data, tmp_path / "m", model=str(tiny_bert), **options)
    meta = json.loads((tmp_path / "m" / "kanjo.json").read_text(encoding="utf-8"))
    assert meta["data"]["dev"]["rows"] < MIN_CALIBRATION_ROWS
    assert meta["temperature"] == 1.0 and clf.temperature == 1.0
    assert meta["calibration"]["reason"].startswith(
        f"skipped: the dev set has {meta['data']['dev']['rows']} rows")
    assert meta["checkpoint_selection"].startswith(
        f"none: the dev set has {meta['data']['dev']['rows']} rows")
    assert meta["best_checkpoint"] is None
    assert meta["train_steps"] == 20  # 53–54 rows / 16 = 4 steps an epoch × 5: ran to the end
    assert meta["dev_metrics"]["n"] == meta["data"]["dev"]["rows"]  # still scored
    assert "note" not in clf.evaluate(data, split="dev")  # nothing was chosen on them


def test_dev_set_of_enough_rows_is_used(tmp_path: Path, tiny_bert: Path, toy_csv: Path) -> None:
    clf = kanjo.train(toy_csv, tmp_path / "m", model=str(tiny_bert),
                      **{**TINY, "epochs": 2})
    assert clf.meta["calibration"]["method"] == "temperature"
    assert "fitted on" in clf.meta["dev_metrics_note"]
    assert clf.meta["checkpoint_selection"].startswith("best dev macro-F1")
    assert clf.meta["best_checkpoint"] is not None
    # evaluating on the rows the temperature was fitted on says so; other rows do not
    note = clf.evaluate(toy_csv, split="dev")["note"]
    assert "selected its checkpoint and fitted its temperature on" in note
    assert "not a held-out measure" in note
    other = write_csv(tmp_path / "other.csv", toy_rows(5, seed=12))
    assert "note" not in clf.evaluate(other)
