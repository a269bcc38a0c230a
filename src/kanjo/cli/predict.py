"""``kanjo evaluate`` and ``kanjo predict``: score labelled data, label new texts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kanjo.cli.app import (
    Device,
    Encoding,
    Format,
    LabelColumn,
    Model,
    TextColumn,
    TextPairColumn,
    _quiet_libraries,
    app,
    err,
    out,
)
from kanjo.data.stream import CHUNK_ROWS
from kanjo.errors import KanjoError
from kanjo.storage import check_output_file, write_text_atomic


@app.command(short_help="Score a model on labelled data.")
def evaluate(
    model: Model,
    data: Annotated[Path, typer.Argument(
        metavar="DATA", help="Labelled data to score.")],
    split: Annotated[str | None, typer.Option(
        help="Only rows of this split/usage value (train, dev, test).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    format: Format = "auto",
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    text_pair_column: TextPairColumn = None,
    encoding: Encoding = None,
    label_sep: Annotated[str | None, typer.Option(
        help="Multi-label models: the character between a row's labels [as trained].")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 64,
    device: Device = "auto",
) -> None:
    """Accuracy, macro/weighted P/R/F1, per-class scores and the confusion matrix; for a
    multi-label model micro/macro F1, subset accuracy, Hamming loss and per-label scores at
    the model's thresholds; for a regression Pearson, Spearman, RMSE and MAE."""
    _quiet_libraries()
    from kanjo.inference.classifier import Classifier

    classifier = Classifier.load(model, device=device)
    metrics = classifier.evaluate(data, split=split, batch_size=batch_size, format=format,
                                  text_column=text_column, label_column=label_column,
                                  encoding=encoding, text_pair_column=text_pair_column,
                                  label_sep=label_sep)
    if as_json:
        print(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        from kanjo.cli.render import print_metrics

        print_metrics(out, metrics)


@app.command(short_help="Label new texts.")
def predict(
    model: Model,
    texts: Annotated[list[str] | None, typer.Argument(
        metavar="TEXTS", help="Texts to classify.")] = None,
    input: Annotated[list[str] | None, typer.Option(
        "--input", "-i", help="File of texts (txt: one per line; CSV/TSV/JSONL), or - for "
                              "stdin; read, predicted and written in chunks. Repeat it for "
                              "several files with --engine ray.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here: .csv or .tsv (a column per probability), .jsonl; "
                               "default JSONL on stdout. With --engine ray: a directory.")
    ] = None,
    format: Format = "auto",
    text_column: TextColumn = None,
    text_pair_column: TextPairColumn = None,
    encoding: Encoding = None,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 64,
    chunk_size: Annotated[int, typer.Option(
        help="Rows read, predicted and written at a time (memory stays that of one chunk).")
    ] = CHUNK_ROWS,
    shard: Annotated[str | None, typer.Option(
        metavar="I/N", help="Predict only every N-th chunk from chunk I (0 ≤ I < N), e.g. "
                            "0/4 … 3/4 in four processes; merge the outputs by id or line.")
    ] = None,
    resume: Annotated[bool, typer.Option(
        help="Continue an interrupted --input/--output run without redoing any row.")] = False,
    progress: Annotated[bool, typer.Option(
        help="Show a progress bar with rows/s and ETA on stderr.")] = True,
    engine: Annotated[str, typer.Option(
        help="local (this process) or ray (Ray Data actors; ray.init() finds a cluster from "
             "RAY_ADDRESS, else starts a local one).")] = "local",
    actors: Annotated[int, typer.Option(help="Ray actors (--engine ray).")] = 2,
    clip: Annotated[bool, typer.Option(
        help="A regression's values clipped to the training range.")] = False,
    device: Device = "auto",
) -> None:
    """Label, score and every class probability per text, in input order (a multi-label
    model: the label set and every label's probability; a regression: the value), with the
    input's own columns carried through (an id column first; a plain-text input's line number)
    so the output joins back to the input. Texts come from the arguments, --input, or piped
    standard input; sentence pairs from a CSV/TSV/JSONL --input with two text columns."""
    _quiet_libraries()
    from kanjo.inference.classifier import Classifier
    from kanjo.inference.prediction_writer import PredictionWriter, output_format
    from kanjo.inference.streaming import check_clip, parse_shard, predict_file

    sources = list(input or [])
    items = list(texts or [])
    if items and sources:
        raise KanjoError("pass texts as arguments or --input, not both")
    if engine not in ("local", "ray"):
        raise KanjoError(f"unknown --engine {engine!r}", hint="choose local or ray")
    if engine == "ray":
        if resume or shard:
            raise KanjoError("--resume and --shard belong to the local engine",
                             hint="Ray Data spreads the rows over its actors itself")
        _predict_with_ray(model, sources, output, format, text_column, encoding, batch_size,
                          actors)
        return
    if len(sources) > 1:
        raise KanjoError("--input takes one file with the local engine",
                         hint="run one kanjo predict per file, or pass --engine ray")
    if not items and not sources and _stdin_is_piped():
        sources = ["-"]  # `cat texts.txt | kanjo predict MODEL`
    if output is not None:
        output_format(output)
    if not items and not sources:
        raise KanjoError("no texts given", hint="pass texts as arguments or --input FILE")
    classifier = Classifier.load(model, device=device)
    if sources:
        try:
            result = predict_file(classifier, sources[0], output, format=format,
                                  text_column=text_column, text_pair_column=text_pair_column,
                                  clip=clip, encoding=encoding,
                                  batch_size=batch_size, chunk_rows=chunk_size,
                                  shard=parse_shard(shard) if shard else (0, 1),
                                  resume=resume, progress=progress)
        except KeyboardInterrupt:
            if output is not None:
                err.print(f"interrupted: run the same command with --resume to continue "
                          f"{output}", style="red")
            raise
        truncated = result.truncated
    else:
        if resume or shard:
            raise KanjoError("--resume and --shard need --input FILE")
        check_clip(classifier, clip)
        if output is not None:
            check_output_file(output)
        outputs = classifier.predict_outputs(items, batch_size=batch_size)
        if clip:
            outputs = classifier.labels.clip(outputs)
        truncated = classifier.last_truncated
        writer = PredictionWriter(output_format(output) if output else "jsonl", ["text"],
                                  classifier.rule, classifier.labels.names)
        text = writer.header() + writer.rows([{"text": t} for t in items], outputs)
        if output is None:
            sys.stdout.write(text)
        else:
            write_text_atomic(output, text)
    if truncated:
        err.print(f"[yellow]warning:[/yellow] {truncated} text(s) longer than "
                  f"{classifier.backend.max_length} tokens were truncated")


def _predict_with_ray(model: str, sources: list[str], output: Path | None, format: str,
                      text_column: str | None, encoding: str | None, batch_size: int,
                      actors: int) -> None:
    """``--engine ray``: each input file predicted by Ray Data actors into ``output``/."""
    if not sources or output is None:
        raise KanjoError("--engine ray needs --input FILE (one or more) and --output DIR")
    from kanjo.integrations.ray import predict_files

    for path in predict_files(sources, model, output, format=format, text_column=text_column,
                              encoding=encoding, batch_size=batch_size, actors=actors):
        err.print(f"wrote {path}", highlight=False)


def _stdin_is_piped() -> bool:
    """Whether something is piped to standard input (not a terminal, a closed or an
    unreadable stdin: then "no texts given" says what to do)."""
    try:
        return sys.stdin is not None and not sys.stdin.isatty() and _has_data(sys.stdin)
    except (OSError, ValueError):
        return False


def _has_data(stream: Any) -> bool:
    """False for a stdin that is at its end already (e.g. /dev/null under a test runner)."""
    peek = getattr(getattr(stream, "buffer", None), "peek", None)
    if peek is None:
        return True
    return bool(peek(1))


def _read_input(source: str, format: str, text_column: str | None, encoding: str | None = None,
                blank_lines: str = "skip") -> list[str]:
    """All texts of a file, or of standard input (``-``), in memory: for the commands whose
    inputs are small (explain, export's calibration and trim texts)."""
    from kanjo.data import read_texts
    from kanjo.data.readers import blank_line_error
    from kanjo.data.stream import STDIN

    if source == "-":
        lines = [line.rstrip("\r\n") for line in sys.stdin]
        empty = [i + 1 for i, line in enumerate(lines) if not line.strip()]
        if empty:
            raise blank_line_error(STDIN, empty[0])
        return lines
    return read_texts(source, format, text_column, encoding, blank_lines).texts
