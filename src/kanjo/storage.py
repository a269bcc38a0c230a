"""Model directories on disk: atomic writes, the kanjo.json metadata, integrity checks.

A model directory is either complete or absent: it is assembled in a hidden sibling
(``.NAME.staging-XXXXXXXX``, or the ``.NAME.partial`` work directory of a training run) and
renamed into place in one step.

What a killed process (``kill -9``, a power cut of the process) leaves is cleaned by the next
one: a staging directory is ``flock``-ed by its process for as long as it lives, so the next
writer of the same output can tell a dead process's staging directory (unlocked) from a live
one's and removes it, as it does the ``.NAME.old-XXXXXXXX`` a killed ``--overwrite`` left. The
locks live in the kernel, not in files: nothing stale is left to block a later run.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX (Windows): staging directories of killed runs are not swept
    fcntl = None  # type: ignore[assignment]

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
        try:
            previous = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            previous = exc
        if not isinstance(previous, dict) or not isinstance(previous.get("config"), dict):
            raise KanjoError("the interrupted run's record is damaged", file=state,
                             hint=f"delete {work} to start over")
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
    write_text_atomic(state, json.dumps(run_key, ensure_ascii=False))


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
    files' modes following the umask (:func:`follow_umask`). With ``overwrite`` the old ``out``
    is first renamed aside (``.NAME.old-XXXXXXXX``) and removed after the new one is in place.

    Raises :class:`KanjoError` when ``out`` exists and not ``overwrite``, ``OSError`` when the
    rename fails (``out`` is then as it was)."""
    out = Path(out)
    check_writable_target(out, overwrite)
    follow_umask(staged)
    out.parent.mkdir(parents=True, exist_ok=True)
    trash = None
    with _locked(out.parent):  # a sweep (remove_stale) never sees the trash of a live swap
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
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory`` (released on exit, or by the kernel when
    the process dies). A no-op where there is no ``fcntl`` or the folder cannot be opened."""
    fd = _open_locked(directory, fcntl.LOCK_EX) if fcntl is not None else None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _open_locked(directory: Path, how: int) -> int | None:
    """A descriptor of ``directory`` holding ``flock(how)``, or None where the folder cannot be
    opened or its filesystem has no locks (ENOLCK on some network filesystems)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, how)
    except OSError:
        os.close(fd)
        return None
    return fd


def _held_by_a_live_process(directory: Path) -> bool:
    """Whether some process may hold the ``flock`` of ``directory`` (a staging directory): its
    lock cannot be taken (or locks do not work there: then it is left alone too)."""
    fd = _open_locked(directory, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if fd is None:
        return directory.exists()
    os.close(fd)
    return False


def remove_stale(out: Path) -> list[Path]:
    """Remove what killed writers of ``out`` left next to it: ``.NAME.staging-*`` directories
    no live process holds, and ``.NAME.old-*`` directories of an interrupted ``--overwrite``.
    Call it holding the folder's lock (as :func:`staging_directory` does). Returns the removed
    paths. The ``.NAME.partial`` work directory of a training run is left alone: ``--resume``
    continues it."""
    if fcntl is None or not out.parent.is_dir():
        return []
    removed = []
    for path in out.parent.glob(f".{glob.escape(out.name)}.*-*"):
        kind = path.name[len(out.name) + 2:].split("-", 1)[0]
        if kind == "old" or (kind == "staging" and not _held_by_a_live_process(path)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def staging_directory(out: Path) -> Iterator[Path]:
    """Yield a new empty hidden sibling of ``out`` (``.NAME.staging-XXXXXXXX``) to assemble it
    in, ``flock``-ed by this process until the block ends; removed then unless it was published
    (renamed to ``out``). Staging directories that killed writers of ``out`` left are removed
    first (:func:`remove_stale`). Raises ``OSError`` when the folder cannot be written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = None
    with _locked(out.parent):  # no sweeper sees the new directory before it is locked
        remove_stale(out)
        staged = out.parent / f".{out.name}.staging-{uuid.uuid4().hex[:8]}"
        staged.mkdir()
        if fcntl is not None:
            fd = _open_locked(staged, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        yield staged
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def atomic_directory(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging directory (:func:`staging_directory`); on success it becomes
    ``out``, on any error (or Ctrl-C) it is removed and ``out`` is left as it was; after a
    ``kill -9`` the next writer of ``out`` removes it."""
    out = Path(out)
    check_writable_target(out, overwrite)
    with staging_directory(out) as staged:
        yield staged
        publish(staged, out, overwrite)


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
