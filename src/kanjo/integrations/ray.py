"""Ray (``pip install 'kanjo[ray]'``): scoring with Ray Data, serving with Ray Serve.

* :func:`predict` maps a Ray Dataset through a pool of actors that each load the model once
  (``map_batches`` with a callable class); give it an ONNX int8 export (``kanjo export
  --quantize int8``) for the fast path. It returns the dataset with ``label``, ``score`` and
  one ``p_<label>`` column per class added.
* :func:`predict_files` (``kanjo predict --engine ray``): files on storage every node can
  read, each read by kanjo's own reader inside a Ray task (the same rules and errors as
  ``kanjo predict``), predicted by the actors, written in input order to ``DIR/<stem>.jsonl``
  exactly as ``kanjo predict`` writes them.

Ray Serve: :func:`kanjo.serve.ray_serve.deployment` (the serve layer holds it).

The same code runs on a laptop (``ray.init()`` starts a local cluster) and on a cluster
(``ray.init(address=...)``, or ``RAY_ADDRESS`` in the environment).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.data.stream import CHUNK_ROWS, stream_texts
from kanjo.errors import ConfigError, KanjoError
from kanjo.inference.classifier import Classifier
from kanjo.inference.decision_rules import SingleLabelRule
from kanjo.inference.prediction_writer import PredictionWriter
from kanjo.storage import ResumableOutput

RECORD = "__kanjo_record"  # a row's input columns as JSON, while it travels through Ray


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("Ray is not installed", hint="pip install 'kanjo[ray]'") from None
    return ray


class _Predictor:
    """One Ray actor: loads the model once, then predicts batch after batch."""

    def __init__(self, model_dir: str, text_column: str, batch_size: int, device: str,
                 threads: int):
        self.classifier = Classifier.load(model_dir, device=device, threads=threads)
        self.text_column = text_column
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(text) for text in batch[self.text_column]]
        proba = self.classifier.predict_proba(texts, self.batch_size)
        names = self.classifier.labels.names
        columns = prediction_columns(list(batch), names)
        batch[columns["label"]] = np.array([names[i] for i in proba.argmax(axis=1)])
        batch[columns["score"]] = proba.max(axis=1)
        for j, name in enumerate(names):
            batch[columns[f"p_{name}"]] = proba[:, j]
        return batch


def prediction_columns(columns: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """The output column of ``label``, ``score`` and each ``p_<name>``: the name itself, or
    ``kanjo_<name>`` where the input already has that column (as ``kanjo predict`` writes)."""
    return PredictionWriter("csv", columns, SingleLabelRule(), names).fields


def predict(dataset: Any, model_dir: str | Path, *, text_column: str = "text",
            batch_size: int = 64, batch_rows: int = 1024, actors: int = 2,
            cpus_per_actor: float = 1, gpus_per_actor: float = 0,
            device: str = "auto") -> Any:
    """``dataset`` (a ``ray.data.Dataset`` with a ``text_column`` of strings) with the
    prediction columns added: ``label`` (str), ``score`` (float, the top probability) and
    ``p_<label>`` (float) per class, calibrated as ``kanjo predict`` computes them.

    ``actors``: the size of the actor pool, each holding one copy of the model and
    ``cpus_per_actor`` CPUs (its onnxruntime threads) and ``gpus_per_actor`` GPUs;
    ``batch_rows``: rows handed to an actor at a time (``batch_size``: the model's batch within
    them). Lazy, like every Ray Data transform: nothing runs until the dataset is consumed.
    Raises :class:`~kanjo.errors.ConfigError` without Ray, and the model's
    :class:`~kanjo.errors.ModelError` when the actors cannot load it."""
    _ray()
    if actors < 1:
        raise ConfigError(f"actors must be ≥ 1, got {actors}")
    model_dir = str(Path(model_dir).resolve())
    model = Classifier.load(model_dir, device="cpu")  # a bad directory fails here, not in
    # the actors
    if model.task != "classification" or model.meta.get("pairs"):
        raise ConfigError(f"Ray Data prediction takes single-text classification models; this "
                          f"is a {'sentence-pair ' if model.meta.get('pairs') else ''}"
                          f"{model.task} model", file=model_dir,
                          hint="use kanjo predict --input FILE (streaming, --shard I/N)")
    return dataset.map_batches(
        _Predictor, fn_constructor_args=(model_dir, text_column, batch_size, device,
                                         max(1, int(cpus_per_actor))),
        batch_size=batch_rows, batch_format="numpy", concurrency=actors,
        num_cpus=cpus_per_actor, num_gpus=gpus_per_actor)


def _read_file(row: dict[str, Any], format: str, text_column: str | None,
               encoding: str | None) -> Iterator[dict[str, Any]]:
    """The rows of one input file (a Ray task): kanjo's streaming reader, every row with its
    line number and its input columns as JSON."""
    for chunk in stream_texts(row["path"], format, text_column, encoding, CHUNK_ROWS):
        for text, line, record in zip(chunk.texts, chunk.lines, chunk.records, strict=True):
            yield {"path": row["path"], "line": line, "text": text,
                   RECORD: json.dumps(record, ensure_ascii=False)}


def predict_files(sources: Sequence[str | Path], model_dir: str | Path, output: str | Path,
                  *, format: str = "auto", text_column: str | None = None,
                  encoding: str | None = None, batch_size: int = 64, actors: int = 2,
                  cpus_per_actor: float = 1) -> list[Path]:
    """Predict every row of each file of ``sources`` with Ray Data and write
    ``output/<stem>.jsonl`` per file: the rows ``kanjo predict --input FILE --output
    OUT.jsonl`` writes, in input order (each file appears only complete). Calls
    ``ray.init()`` when Ray is not initialised yet (``RAY_ADDRESS`` names a cluster to join).
    Returns the files written. Raises the reader's :class:`~kanjo.errors.DataError` for a bad
    row (naming file and line) and :class:`KanjoError` for two inputs with one stem."""
    ray = _ray()
    paths = [Path(source) for source in sources]
    stems = [path.stem for path in paths]
    clash = sorted({s for s in stems if stems.count(s) > 1})
    if clash:
        raise KanjoError(f"two inputs would write {clash[0]}.jsonl", file=output,
                         hint="give the input files distinct names")
    out_dir = Path(output)
    if out_dir.exists() and not out_dir.is_dir():
        raise KanjoError("exists and is not a directory", file=out_dir)
    for path in paths:  # fail before any work, not in a Ray task
        if not path.is_file():
            raise KanjoError("file not found" if not path.exists() else "is not a file",
                             file=path)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not ray.is_initialized():
        ray.init(log_to_driver=False)
    names = Classifier.load(model_dir, device="cpu").labels.names
    context = ray.data.DataContext.get_current()
    kept = context.execution_options.preserve_order
    context.execution_options.preserve_order = True  # rows come back in input order
    written = []
    try:
        for path in paths:
            # the reader asks for no CPU of its own: it is light next to the model, and an
            # actor pool holding every CPU would otherwise starve it (a 2-CPU cluster with 2
            # actors waited for ever)
            rows = ray.data.from_items([{"path": str(path.resolve())}]).flat_map(
                functools.partial(_read_file, format=format, text_column=text_column,
                                  encoding=encoding), num_cpus=0)
            scored = predict(rows, model_dir, batch_size=batch_size, actors=actors,
                             cpus_per_actor=cpus_per_actor, device="cpu")
            written.append(_write(scored, path, out_dir / f"{path.stem}.jsonl", names))
    except Exception as exc:
        cause = _kanjo_cause(exc)
        if cause is not None:
            raise cause from None
        raise
    finally:
        context.execution_options.preserve_order = kept
    return written


def _write(scored: Any, source: Path, target: Path, names: Sequence[str]) -> Path:
    """Consume ``scored`` in order and write it as ``kanjo predict`` writes JSONL."""
    sink = ResumableOutput(target, {"input": str(source)})
    writer = None
    try:
        for batch in scored.iter_batches(batch_format="numpy", batch_size=CHUNK_ROWS):
            records = [json.loads(r) for r in batch[RECORD]]
            proba = np.stack([batch[f"p_{n}"] for n in names], axis=1)
            if writer is None:
                writer = PredictionWriter("jsonl", list(records[0]), SingleLabelRule(), names,
                                          source)
            sink.append(writer.rows(records, proba, list(batch["line"])), {})
    except BaseException:
        sink.discard()
        raise
    return sink.finish()


def _kanjo_cause(exc: BaseException | None) -> KanjoError | None:
    """The KanjoError a Ray task raised, from the exceptions Ray wraps it in (a
    ``RayTaskError`` keeps it as ``cause``)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "cause", None)
        if isinstance(inner, BaseException):
            exc = inner
        elif isinstance(exc, KanjoError):
            return exc
        else:
            exc = exc.__cause__
    return None
