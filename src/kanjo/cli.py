"""The ``kanjo`` command: a thin skin over the Python API.

Each command parses its flags, calls the API and prints; a :class:`KanjoError` becomes a clear
message and exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from kanjo.errors import KanjoError

app = typer.Typer(
    name="kanjo",
    help="Fine-tune, evaluate and run Japanese text classifiers (offline by default).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
out = Console()
_state = {"debug": False}


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


def _quiet_libraries() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


Model = Annotated[str, typer.Argument(help="A model directory (kanjo output or export).")]
Format = Annotated[str, typer.Option(help="auto, csv, tsv, jsonl, jrte or txt.")]
TextColumn = Annotated[str | None, typer.Option(help="Column holding the text.")]
LabelColumn = Annotated[str | None, typer.Option(help="Column holding the label.")]


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Labelled data: CSV/TSV/JSONL or JRTE pn.tsv.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output model directory.")],
    model: Annotated[str | None, typer.Option(
        help="default (offline encoder), tfidf, a local directory or a hub id.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/TOML file of these options.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Training epochs [4].")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate [1e-4].")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size [32].")] = None,
    max_length: Annotated[int | None, typer.Option(help="Max tokens per text [256].")] = None,
    warmup: Annotated[float | None, typer.Option(
        help="Warm-up: fraction of steps if < 1, else steps [0.1].")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="AdamW weight decay [0.01].")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed [42].")] = None,
    freeze_encoder: Annotated[bool | None, typer.Option(
        "--freeze-encoder/--no-freeze-encoder", help="Train the head only [no].")] = None,
    freeze_embeddings: Annotated[bool | None, typer.Option(
        "--freeze-embeddings/--no-freeze-embeddings",
        help="Keep word embeddings fixed [yes].")] = None,
    soft_labels: Annotated[bool | None, typer.Option(
        "--soft-labels/--no-soft-labels", help="Train on per-row label distributions.")] = None,
    eval_steps: Annotated[int | None, typer.Option(
        help="Evaluate every N steps instead of every epoch.")] = None,
    early_stopping: Annotated[int | None, typer.Option(
        help="Patience in evaluations; 0 disables [2].")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps [auto].")] = None,
    labels: Annotated[str | None, typer.Option(
        help="Label names in id order, e.g. negative,neutral,positive.")] = None,
    format: Format = "auto",
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    dev: Annotated[Path | None, typer.Option(help="A separate dev file.")] = None,
    dev_split: Annotated[float | None, typer.Option(
        help="Dev fraction when there is no dev set; 0 = none [0.1].")] = None,
    train_splits: Annotated[str | None, typer.Option(
        help="Split-column values to train on [train]; e.g. train,dev.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
) -> None:
    """Fine-tune a classifier on labelled text and save it to --out."""
    _quiet_libraries()
    from kanjo.config import TrainConfig
    from kanjo.evaluation import summary_line
    from kanjo.training import train as train_model

    flags = dict(
        model=model, epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length,
        warmup=warmup, weight_decay=weight_decay, seed=seed, freeze_encoder=freeze_encoder,
        freeze_embeddings=freeze_embeddings, soft_labels=soft_labels, eval_steps=eval_steps,
        early_stopping=early_stopping, device=device, labels=labels,
        format=None if format == "auto" else format, text_column=text_column,
        label_column=label_column, dev=str(dev) if dev else None, dev_split=dev_split,
        train_splits=train_splits,
    )
    if config is not None:
        cfg = TrainConfig.from_file(config, **flags)
    else:
        cfg = TrainConfig.from_dict({k: v for k, v in flags.items() if v is not None}, "flags")
    classifier = train_model(data, out_dir, cfg, resume=resume, overwrite=overwrite)
    meta = classifier.meta
    err.print(f"[green]saved[/green] {out_dir}  ({meta['timings']['train_seconds']:.0f} s)")
    if "dev_metrics" in meta:
        err.print(f"dev: {summary_line(meta['dev_metrics'])}")


@app.command()
def evaluate(
    model: Model,
    data: Annotated[Path, typer.Argument(help="Labelled data to score.")],
    split: Annotated[str | None, typer.Option(
        help="Only rows of this split/usage value (train, dev, test).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    format: Format = "auto",
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 64,
) -> None:
    """Accuracy, macro/weighted P/R/F1, per-class scores and the confusion matrix."""
    _quiet_libraries()
    from kanjo.inference import Classifier

    classifier = Classifier.load(model)
    metrics = classifier.evaluate(data, split=split, batch_size=batch_size, format=format,
                                  text_column=text_column, label_column=label_column)
    if as_json:
        print(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        from kanjo.report import print_metrics

        print_metrics(out, metrics)


@app.command()
def predict(
    model: Model,
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify.")] = None,
    input: Annotated[str | None, typer.Option(
        "--input", "-i", help="File of texts (txt: one per line; CSV/TSV/JSONL), or - for stdin."
    )] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here (.csv → CSV, else JSONL); default stdout.")] = None,
    format: Format = "auto",
    text_column: TextColumn = None,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 64,
) -> None:
    """Label, score and every class probability per text, in input order."""
    _quiet_libraries()
    from kanjo.inference import Classifier

    items = list(texts or [])
    if input is not None:
        items += _read_input(input, format, text_column)
    if not items:
        raise KanjoError("no texts given", hint="pass texts as arguments or --input FILE")
    classifier = Classifier.load(model)
    proba = classifier.predict_proba(items, batch_size=batch_size)
    if classifier.last_truncated:
        err.print(f"[yellow]warning:[/yellow] {classifier.last_truncated} text(s) longer than "
                  f"{classifier.backend.max_length} tokens were truncated")
    names = classifier.labels.names
    rows = [{"text": text, "label": names[int(p.argmax())], "score": float(p.max()),
             "probabilities": {n: float(v) for n, v in zip(names, p, strict=True)}}
            for text, p in zip(items, proba, strict=True)]
    _write_predictions(rows, names, output)


def _read_input(source: str, format: str, text_column: str | None) -> list[str]:
    from kanjo.data import read_texts

    if source == "-":
        lines = [line.rstrip("\r\n") for line in sys.stdin]
        empty = [i + 1 for i, line in enumerate(lines) if not line.strip()]
        if empty:
            raise KanjoError("is empty or only whitespace", file="<stdin>", line=empty[0])
        return lines
    return read_texts(source, format, text_column).texts


def _write_predictions(rows: list[dict[str, Any]], names: tuple[str, ...],
                       output: Path | None) -> None:
    """JSONL (or CSV for a .csv output) to stdout or, atomically, to ``output``."""
    buffer = io.StringIO()
    if output is not None and output.suffix.lower() == ".csv":
        writer = csv.writer(buffer)
        writer.writerow(["text", "label", "score", *[f"p_{n}" for n in names]])
        for row in rows:
            writer.writerow([row["text"], row["label"], f"{row['score']:.6f}",
                             *[f"{row['probabilities'][n]:.6f}" for n in names]])
    else:
        for row in rows:
            buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
    if output is None:
        sys.stdout.write(buffer.getvalue())
        return
    partial = output.with_name(f".{output.name}.partial")
    partial.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    os.replace(partial, output)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; errors become a message and an exit code, not a traceback."""
    import click

    try:
        app(args=argv, standalone_mode=False)
    except KanjoError as exc:
        if _state["debug"]:
            raise
        err.print(f"error: {exc}", style="bold red", highlight=False, markup=False)
        raise SystemExit(2) from None
    except click.exceptions.ClickException as exc:
        exc.show()
        raise SystemExit(2) from None
    except (KeyboardInterrupt, click.exceptions.Abort):
        err.print("interrupted", style="red")
        raise SystemExit(130) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:
        if _state["debug"]:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc}\n(re-run with --debug for the "
                  "traceback, and please report it)", style="bold red", highlight=False,
                  markup=False)
        raise SystemExit(1) from None
