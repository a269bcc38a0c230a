"""Streaming prediction: read, predict and write a file chunk by chunk, in flat memory.

``predict_file`` reads its input in chunks (:func:`kanjo.data.stream.stream_texts`), predicts
each chunk and appends its rows to the output in input order as soon as the chunk is done, so
memory stays that of one chunk whatever the input's size. The output is assembled in a hidden
``.OUT.partial`` file with a progress record (:class:`kanjo.storage.ResumableOutput`): a killed
run continues with ``resume=True`` without redoing or duplicating a row, and ``OUT`` itself
appears only complete. ``shard=(i, n)`` predicts every n-th chunk from chunk i, for manual
parallelism over several processes or machines (the output keeps each row's id or line number
to merge the shards).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kanjo.data.stream import CHUNK_ROWS, count_lines, stream_texts
from kanjo.errors import ConfigError, DataError, KanjoError
from kanjo.inference.classifier import Classifier
from kanjo.inference.prediction_writer import PredictionWriter, output_format
from kanjo.storage import ResumableOutput, check_output_file


@dataclass
class StreamResult:
    """What a streaming run did: ``rows`` predicted in this run, ``resumed_rows`` already
    written by the interrupted run it continued, ``seconds`` of wall-clock time,
    ``truncated`` texts cut to the model's maximum length, and the ``output`` file (None:
    standard output)."""

    rows: int
    resumed_rows: int
    seconds: float
    truncated: int
    output: Path | None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def check_clip(classifier: Classifier, clip: bool) -> None:
    """Raise :class:`~kanjo.errors.ConfigError` when ``clip`` is asked of a model that does
    not predict values (clipping limits a regression's values to the training range)."""
    if clip and classifier.task != "regression":
        raise ConfigError(f"--clip limits a regression's values: this is a {classifier.task} "
                          "model")


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` → (I, N) with 0 ≤ I < N; raises :class:`ConfigError` otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from None
    if not 0 <= index < count:
        raise ConfigError(f"--shard {text}: I must be 0 … N-1 and N ≥ 1")
    return index, count


def predict_file(classifier: Classifier, source: str | Path, output: Path | None = None, *,
                 format: str = "auto", text_column: str | None = None,
                 text_pair_column: str | None = None, clip: bool = False,
                 encoding: str | None = None, batch_size: int = 64,
                 chunk_rows: int = CHUNK_ROWS, shard: tuple[int, int] = (0, 1),
                 resume: bool = False, progress: bool = True,
                 stdout: IO[str] | None = None) -> StreamResult:
    """Predict every row of ``source`` (a file, or ``"-"``: standard input as plain text) and
    write the rows to ``output`` (.csv, .tsv or .jsonl; None: JSONL on ``stdout``), each with
    the input's columns (:mod:`kanjo.inference.prediction_writer`), in input order.

    ``text_pair_column``: a sentence-pair model's second text column (found by itself for the
    usual pair names). ``clip``: a regression's values clipped to its training range.
    ``chunk_rows``: rows read, predicted and written at a time. ``shard=(i, n)``: only chunks
    i, i + n, i + 2n … (every shard must use the same ``chunk_rows``). ``resume``: continue the
    interrupted run that was writing ``output`` (same input, model and options). A progress
    bar on stderr (a terminal) shows rows/s and the ETA unless ``progress`` is false.

    Raises :class:`~kanjo.errors.DataError` for a bad input row (naming file and line; the
    partial output is removed), :class:`~kanjo.errors.ConfigError` for bad options."""
    from tqdm import tqdm

    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be ≥ 1, got {chunk_rows}")
    check_clip(classifier, clip)
    index, count = shard
    if resume and (output is None or source == "-"):
        raise ConfigError("--resume needs --input FILE and --output FILE",
                          hint="standard input and output cannot be read or written twice")
    fmt = output_format(output) if output is not None else "jsonl"
    if output is not None:
        check_output_file(output)
    sink = ResumableOutput(output, _run_key(classifier, source, fmt, format, text_column,
                                            text_pair_column, clip, encoding, chunk_rows,
                                            shard), resume) \
        if output is not None else None
    state: dict[str, Any] = dict(sink.state) if sink is not None else {}
    done_chunks, resumed = state.get("chunks", 0), state.get("rows", 0)
    rule, names = classifier.rule, classifier.labels.names
    writer = PredictionWriter(fmt, state["columns"], rule, names, source) \
        if "columns" in state else None
    total = count_lines(source)
    bar = tqdm(total=total and max(1, total // count), initial=resumed, unit="row",
               desc="predicting", file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
               disable=None if progress else True)  # None: shown on a terminal only
    started, rows, truncated, columns = time.time(), 0, 0, None
    stream = stdout or sys.stdout
    try:
        for chunk in stream_texts(source, format, text_column, encoding, chunk_rows,
                                  text_pair_column):
            columns = chunk.columns
            _check_pairs(classifier, chunk.inputs, source)
            if chunk.index < done_chunks or chunk.index % count != index:
                continue  # read all the same: every row is checked, whichever shard has it
            outputs = classifier.predict_outputs(chunk.inputs, batch_size)
            if clip:
                outputs = classifier.labels.clip(outputs)
            truncated += classifier.last_truncated
            head = ""
            if writer is None:
                writer = PredictionWriter(fmt, chunk.columns, rule, names, source)
                head = writer.header()
            text = head + writer.rows(chunk.records, outputs, chunk.lines)
            rows += len(chunk)
            if sink is not None:
                sink.append(text, {"chunks": chunk.index + 1, "rows": resumed + rows,
                                   "columns": writer.columns})
            else:
                stream.write(text)
                stream.flush()
            bar.update(len(chunk))
        if writer is None:  # no chunk fell to this shard: the header alone
            head = PredictionWriter(fmt, columns or [], rule, names).header()
            if sink is not None:
                sink.append(head, {"chunks": 0, "rows": 0})
            else:
                stream.write(head)
    except KanjoError:
        if sink is not None:
            sink.discard()  # a bad input row: nothing a resume could continue
        raise
    except BaseException:
        if sink is not None:
            sink.close()  # killed or interrupted: keep it for --resume
        raise
    finally:
        bar.close()
    if sink is not None:
        sink.finish()
    return StreamResult(rows, resumed, time.time() - started, truncated, output)


def _run_key(classifier: Classifier, source: str | Path, fmt: str, format: str,
             text_column: str | None, text_pair_column: str | None, clip: bool,
             encoding: str | None, chunk_rows: int, shard: tuple[int, int]) -> dict[str, Any]:
    """What must be the same for a resumed run to continue an interrupted one."""
    path = Path(source)
    try:
        stat = path.stat() if path.is_file() else None
    except (OSError, RuntimeError):  # a symlink loop: the read reports it
        stat = None
    return {"input": os.path.abspath(path), "input_bytes": stat and stat.st_size,
            "input_mtime_ns": stat and stat.st_mtime_ns,
            "model": os.path.abspath(classifier.path) if classifier.path else None,
            "model_checksums": classifier.meta.get("checksums"),
            "format": format, "text_column": text_column,
            "text_pair_column": text_pair_column, "clip": clip, "encoding": encoding,
            "chunk_rows": chunk_rows, "shard": f"{shard[0]}/{shard[1]}", "output_format": fmt}


def _check_pairs(classifier: Classifier, inputs: list, source: str | Path) -> None:
    """A file of single texts for a pair model (or pairs for a single-text one): one error
    naming the file, before any row is predicted."""
    pairs = classifier.meta.get("pairs")
    if pairs is None or not inputs or isinstance(inputs[0], tuple) == pairs:
        return
    if pairs:
        raise DataError("has one text column, but this model reads sentence pairs", file=source,
                        hint="give it a second text column (sentence1/sentence2, text_a/text_b, "
                             "premise/hypothesis, text/text_pair) or name both with "
                             "--text-column and --text-pair-column")
    raise DataError("has sentence pairs, but this model reads single texts", file=source,
                    hint="predict with a pair model, or pass a file of single texts")
