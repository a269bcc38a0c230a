"""Every load path ends in the project's model error: exit 2 and a message naming the file,
never "internal error". Damage: missing, truncated or garbled files, an edited kanjo.json."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import kanjo
from kanjo.errors import ModelError
from tests.conftest import TINY, run_cli

TORCH_DAMAGE = ["truncate:model.safetensors", "garble:config.json", "delete:config.json",
                "garble:tokenizer.json"]
DAMAGE: dict[str, list[str]] = {
    "torch": TORCH_DAMAGE,
    "onnx": ["truncate:model.onnx", "garble:tokenizer.json", "delete:model.onnx"],
    "tfidf": ["truncate:tfidf.safetensors", "garble:tfidf.json", "delete:tfidf.json"],
}
META_EDITS: dict[str, Callable[[dict], None]] = {
    "not-json": lambda m: m.clear(),  # replaced by garbage below
    "labels-not-a-list": lambda m: m.update(labels="positive"),
    "labels-wrong-count": lambda m: m.update(labels=m["labels"][:1]),
    "labels-duplicated": lambda m: m.update(labels=[m["labels"][0]] * len(m["labels"])),
    "temperature-text": lambda m: m.update(temperature="hot"),
    "max-length-negative": lambda m: m.update(max_length=-3),
    "unknown-backend": lambda m: m.update(backend="gpu"),
    "checksums-garbled": lambda m: m.update(checksums={"model.safetensors": 7}),
}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, toy_csv: Path
           ) -> dict[str, Path]:
    from kanjo.export.onnx import export

    root = tmp_path_factory.mktemp("loadable")
    quick = {**TINY, "epochs": 1}
    torch_dir = root / "torch"
    kanjo.train(toy_csv, torch_dir, model=str(tiny_bert), **quick)
    kanjo.train(toy_csv, root / "tfidf", model="tfidf")
    export(torch_dir, root / "onnx")
    return {"torch": torch_dir, "onnx": root / "onnx", "tfidf": root / "tfidf"}


def _damaged_copy(source: Path, target: Path, damage: str, keep_checksums: bool) -> Path:
    """A copy of ``source`` with one file damaged. Without ``keep_checksums`` kanjo.json no
    longer records sizes (a hand-copied or plain transformers directory), so the damage reaches
    the loader itself instead of the checksum check."""
    shutil.copytree(source, target)
    action, name = damage.split(":")
    path = target / name
    if action == "delete":
        path.unlink()
    elif action == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    else:
        path.write_bytes(b"\x00{not json" + path.read_bytes()[10:40])
    if not keep_checksums:
        meta = json.loads((target / "kanjo.json").read_text(encoding="utf-8"))
        meta.pop("checksums", None)
        (target / "kanjo.json").write_text(json.dumps(meta), encoding="utf-8")
    return target


def _assert_clear_model_error(model_dir: Path, capsys: pytest.CaptureFixture[str],
                              names: str) -> None:
    with pytest.raises(ModelError) as caught:
        kanjo.load(model_dir)
    assert str(model_dir) in str(caught.value)
    code, _, err = run_cli(["predict", str(model_dir), "朝食は最高でした。"], capsys)
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err
    assert names in err


@pytest.mark.parametrize("keep_checksums", [True, False], ids=["recorded", "unrecorded"])
@pytest.mark.parametrize("kind,damage", [(k, d) for k, ds in DAMAGE.items() for d in ds])
def test_damaged_model_file(models, tmp_path, capsys, kind, damage, keep_checksums) -> None:
    target = _damaged_copy(models[kind], tmp_path / kind, damage, keep_checksums)
    _assert_clear_model_error(target, capsys, str(target))


@pytest.mark.parametrize("edit", list(META_EDITS))
@pytest.mark.parametrize("kind", ["torch", "onnx", "tfidf"])
def test_edited_kanjo_json(models, tmp_path, capsys, kind, edit) -> None:
    target = tmp_path / kind
    shutil.copytree(models[kind], target)
    meta_file = target / "kanjo.json"
    if edit == "not-json":
        meta_file.write_text('{"labels": ["a", ', encoding="utf-8")
    else:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        META_EDITS[edit](meta)
        meta_file.write_text(json.dumps(meta), encoding="utf-8")
    _assert_clear_model_error(target, capsys, str(target))


def test_damaged_masked_lm(tiny_bert: Path, tmp_path: Path, capsys) -> None:
    """fill-mask and pretraining load masked LMs through the same error model."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    mlm = tmp_path / "mlm"
    AutoModelForMaskedLM.from_pretrained(tiny_bert).save_pretrained(mlm)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(mlm)
    weights = mlm / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    code, _, err = run_cli(["fill-mask", str(mlm), "朝食は[MASK]でした。"], capsys)
    assert code == 2 and "internal error" not in err and str(mlm) in err
    text = tmp_path / "sentences.txt"
    text.write_text("".join(f"部屋{i}は広かった。\n" for i in range(40)), encoding="utf-8")
    code, _, err = run_cli(["pretrain", "--model", str(mlm), "--text", str(text),
                            "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "internal error" not in err and str(mlm) in err
