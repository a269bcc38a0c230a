"""``kanjo evaluate`` and ``kanjo predict``: score labelled data, label new texts."""

from __future__ import annotations

import csv
import io
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
from kanjo.errors import ConfigError, KanjoError
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
    input: Annotated[str | None, typer.Option(
        "--input", "-i", help="File of texts (txt: one per line; CSV/TSV/JSONL), or - for stdin."
    )] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here: .csv or .tsv (a column per probability), .jsonl; "
                               "default JSONL on stdout.")] = None,
    format: Format = "auto",
    text_column: TextColumn = None,
    text_pair_column: TextPairColumn = None,
    encoding: Encoding = None,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 64,
    clip: Annotated[bool, typer.Option(
        help="A regression's values clipped to the training range.")] = False,
    device: Device = "auto",
) -> None:
    """Label, score and every class probability per text, in input order (a multi-label
    model: the label set and every label's probability; a regression: the value). Texts come
    from the arguments, --input, or piped standard input; sentence pairs from a CSV/TSV/JSONL
    --input with two text columns."""
    _quiet_libraries()
    from kanjo.inference.classifier import Classifier

    items = list(texts or [])
    if input is None and not items:
        items = _piped_lines()  # `cat texts.txt | kanjo predict MODEL`
    if input is not None:
        items += _read_input(input, format, text_column, encoding, blank_lines="error",
                             text_pair_column=text_pair_column)
    if output is not None:
        _output_format(output)
    if not items:
        raise KanjoError("no texts given", hint="pass texts as arguments or --input FILE")
    if output is not None:
        check_output_file(output)
    classifier = Classifier.load(model, device=device)
    if clip and classifier.task != "regression":
        raise ConfigError(f"--clip limits a regression's values: this is a {classifier.task} "
                          "model")
    outputs = classifier.predict_outputs(items, batch_size=batch_size)
    if clip:
        outputs = classifier.labels.clip(outputs)
    rule, names = classifier.rule, classifier.labels.names
    rows = [{**_input_columns(item), **rule.row(p, names)}
            for item, p in zip(items, outputs, strict=True)]
    if classifier.last_truncated:
        err.print(f"[yellow]warning:[/yellow] {classifier.last_truncated} text(s) longer than "
                  f"{classifier.backend.max_length} tokens were truncated")
    _write_predictions(rows, output)


def _input_columns(item: str | tuple[str, str]) -> dict[str, str]:
    """An input as output columns: ``text``, and ``text_pair`` for a sentence pair."""
    return {"text": item} if isinstance(item, str) else {"text": item[0], "text_pair": item[1]}


def _read_input(source: str, format: str, text_column: str | None, encoding: str | None = None,
                blank_lines: str = "skip",
                text_pair_column: str | None = None) -> list[str] | list[tuple[str, str]]:
    from kanjo.data import read_texts

    if source == "-":
        lines = [line.rstrip("\r\n") for line in sys.stdin]
        empty = [i + 1 for i, line in enumerate(lines) if not line.strip()]
        if empty:
            raise KanjoError("is empty or only whitespace", file="<stdin>", line=empty[0])
        return lines
    return read_texts(source, format, text_column, encoding, blank_lines,
                      text_pair_column=text_pair_column).inputs


def _piped_lines() -> list[str]:
    """Standard input's lines when something is piped in; [] for a terminal, or a closed or
    unreadable stdin (then "no texts given" says what to do)."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return []
        return _read_input("-", "txt", None)
    except (OSError, ValueError):
        return []


OUTPUT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _output_format(output: Path) -> str:
    """The format ``--output``'s extension names; an unknown one is refused before any work."""
    fmt = OUTPUT_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise KanjoError(f"cannot tell the output format from '{output.suffix or output.name}'",
                         file=output, hint="name the file .csv, .tsv or .jsonl")
    return fmt


def _write_predictions(rows: list[dict[str, Any]], output: Path | None) -> None:
    """JSONL to stdout, or the format ``output`` names, written atomically (CSV/TSV: a column
    per field, one per class probability as ``p_NAME``)."""
    buffer = io.StringIO()
    fmt = _output_format(output) if output is not None else "jsonl"
    if fmt in ("csv", "tsv"):
        writer = csv.writer(buffer, delimiter="," if fmt == "csv" else "\t")
        flat = [{**{k: v for k, v in row.items() if k != "probabilities"},
                 **{f"p_{n}": p for n, p in row.get("probabilities", {}).items()}}
                for row in rows]
        writer.writerow(list(flat[0]))
        for row in flat:  # a label set is one JSON-list cell, as kanjo train reads it back
            writer.writerow([json.dumps(v, ensure_ascii=False) if isinstance(v, list) else
                             f"{v:.6f}" if isinstance(v, float) else v for v in row.values()])
    else:
        for row in rows:
            buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
    if output is None:
        sys.stdout.write(buffer.getvalue())
        return
    write_text_atomic(output, buffer.getvalue())
