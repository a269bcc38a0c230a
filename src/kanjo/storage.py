"""Model directories on disk: atomic writes, the kanjo.json metadata, integrity checks.

A model directory is either complete or absent: it is assembled in a hidden sibling
``.NAME.partial`` directory and renamed into place in one step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kanjo.errors import ConfigError, KanjoError, ModelError

META_FILE = "kanjo.json"


def work_dir(out: Path) -> Path:
    """The hidden sibling where a run is assembled (and its checkpoints kept for --resume)."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def claim_work_dir(work: Path, run_key: dict[str, Any], resume: bool) -> None:
    """Start a run's work directory, or check that ``resume`` continues the same run."""
    state = work / "run.json"
    if work.exists() and state.exists():
        if not resume:
            raise KanjoError(
                "an interrupted training run of this model is here",
                file=work,
                hint="pass --resume to continue it, or delete that directory to start over",
            )
        previous = json.loads(state.read_text(encoding="utf-8"))
        if previous != json.loads(json.dumps(run_key)):
            changed = sorted(k for k in run_key["config"]
                             if previous["config"].get(k) != run_key["config"][k])
            raise ConfigError(
                "--resume must use the same data and options as the interrupted run",
                hint=f"changed options: {', '.join(changed) or 'the data files'}",
            )
        return
    if resume:
        raise KanjoError("nothing to resume: no interrupted run was found", file=work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    state.write_text(json.dumps(run_key, ensure_ascii=False), encoding="utf-8")


def check_writable_target(out: Path, overwrite: bool) -> None:
    """Refuse to silently replace an existing directory."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise KanjoError(
            "already exists",
            file=out,
            hint="choose another --out, or pass --overwrite to replace it",
        )
    if out.exists() and not out.is_dir():
        raise KanjoError("exists and is not a directory", file=out)


def check_output_file(path: Path) -> None:
    """Fail before long work, not after it, when an output file cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise KanjoError("is a directory, not a file", file=path)
    if not path.parent.is_dir():
        raise KanjoError("cannot be written: its folder does not exist", file=path,
                         hint="create the folder first, or choose another path")


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file in one step: a reader sees the old file or the whole new one."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8", newline="")
    os.replace(partial, path)


def current_umask() -> int:
    """The process's file-creation mask (e.g. 0o022). ``os.umask`` can only be read by setting
    it, so it is set back at once."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def follow_umask(directory: Path) -> None:
    """Give every file under ``directory`` the mode a plain ``open()`` would (0o666 less the
    umask: 0644 under umask 022) and every folder 0o777 less the umask. Libraries that write
    their files private whatever the umask (``safetensors`` writes 0600) would otherwise leave
    a model directory that a service user cannot read."""
    mask = current_umask()
    Path(directory).chmod(0o777 & ~mask)
    for path in Path(directory).rglob("*"):
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def publish(staged: Path, out: Path, overwrite: bool = False) -> Path:
    """Move a fully written directory ``staged`` to ``out`` atomically (same filesystem), its
    files' modes following the umask (:func:`follow_umask`)."""
    out = Path(out)
    check_writable_target(out, overwrite)
    follow_umask(staged)
    out.parent.mkdir(parents=True, exist_ok=True)
    trash = None
    if out.exists():
        trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(out, trash)
    try:
        os.rename(staged, out)
    except BaseException:
        if trash is not None:
            os.rename(trash, out)
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return out


@contextlib.contextmanager
def atomic_directory(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging directory; on success it becomes ``out``, on any error (or
    Ctrl-C) it is removed and ``out`` is left as it was."""
    out = Path(out)
    check_writable_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.parent / f".{out.name}.staging-{uuid.uuid4().hex[:8]}"
    staged.mkdir()
    try:
        yield staged
        publish(staged, out, overwrite)
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    (Path(directory) / META_FILE).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )


def read_meta(directory: Path) -> dict[str, Any]:
    """kanjo.json of a model directory, or {} for a plain transformers directory."""
    path = Path(directory) / META_FILE
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"is damaged: {exc}", file=path) from None
    if not isinstance(meta, dict):
        raise ModelError("is damaged: not a JSON object", file=path)
    return meta


def record_checksums(directory: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """Size and sha256 of the weight files, stored in kanjo.json and checked by :func:`verify`."""
    out = {}
    for name in names:
        path = Path(directory) / name
        if path.exists():
            out[name] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return out


def verify(directory: Path, meta: dict[str, Any], full: bool = False) -> None:
    """Check the weight files against kanjo.json: sizes always (cheap, catches truncation),
    sha256 too when ``full``."""
    for name, expected in meta.get("checksums", {}).items():
        path = Path(directory) / name
        if not path.exists():
            raise ModelError(f"is missing {name}", file=directory,
                             hint="the directory is incomplete: re-train or re-export it")
        if path.stat().st_size != expected["bytes"] or (
            full and sha256_file(path) != expected["sha256"]
        ):
            raise ModelError(
                f"{name} does not match its recorded checksum (the file is damaged)",
                file=directory,
                hint="re-export or re-train the model",
            )


class ResumableOutput:
    """An output file written in appended pieces that a killed run can continue.

    The file is assembled in the hidden sibling ``.NAME.partial``; after each piece it is
    flushed to disk (``fsync``) and ``.NAME.progress.json`` records the partial file's size and
    the caller's ``state`` (e.g. how much input the piece covered), so that a new run with
    ``resume=True`` cuts the partial file back to the last recorded piece and continues from
    ``state``. :meth:`finish` renames the file into place in one step: ``path`` is never
    half-written. ``key`` identifies the run (input, model, options): resuming with another key
    is refused.
    """

    def __init__(self, path: Path, key: dict[str, Any], resume: bool = False):
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.record = self.path.with_name(f".{self.path.name}.progress.json")
        self.key = json.loads(json.dumps(key))
        self.state: dict[str, Any] = {}
        if self.record.exists() and self.partial.exists():
            if not resume:
                raise KanjoError("an interrupted run that writes this file is here",
                                 file=self.path, hint=f"pass --resume to continue it, or delete "
                                 f"{self.partial.name} and {self.record.name} to start over")
            progress = json.loads(self.record.read_text(encoding="utf-8"))
            if progress["key"] != self.key:
                changed = sorted(k for k in self.key if progress["key"].get(k) != self.key[k])
                raise ConfigError("--resume must use the same input, model and options as "
                                  "the interrupted run", file=self.path,
                                  hint=f"changed: {', '.join(changed)}")
            self.state = progress["state"]
            self._handle = open(self.partial, "r+b")  # noqa: SIM115 (closed by finish/close)
            self._handle.truncate(progress["bytes"])
            self._handle.seek(progress["bytes"])
        else:
            if resume:
                raise KanjoError("nothing to resume: no interrupted run was found",
                                 file=self.path)
            self._handle = open(self.partial, "wb")  # noqa: SIM115

    def append(self, text: str, state: dict[str, Any]) -> None:
        """Write ``text`` (UTF-8) durably, then record ``state`` as reached with it."""
        self._handle.write(text.encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.state = state
        write_text_atomic(self.record, json.dumps(
            {"key": self.key, "bytes": self._handle.tell(), "state": state}, ensure_ascii=False))

    def finish(self) -> Path:
        """Close the file and rename it into place; the progress record is removed."""
        self._handle.close()
        os.replace(self.partial, self.path)
        self.record.unlink(missing_ok=True)
        return self.path

    def discard(self) -> None:
        """Close and remove the partial file and its progress record (nothing to resume)."""
        self._handle.close()
        self.partial.unlink(missing_ok=True)
        self.record.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file, keeping it and its progress record for a later ``resume``."""
        self._handle.close()
