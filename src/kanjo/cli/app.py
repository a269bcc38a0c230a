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
from kanjo.storage import check_output_file, write_text_atomic

app = typer.Typer(
    name="kanjo",
    help="Fine-tune, evaluate and run Japanese text classifiers (offline by default).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show defaults as [yes], [auto]: not markup
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
    """Library settings for every command, before torch/transformers are imported."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # OpenMP threads that spin while they wait make torch ~10x slower when other processes
    # share the cores (measured: 22 s against 1.5 s a step); passive waiting costs ~nothing
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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
        "--soft-labels/--no-soft-labels",
        help="Train on per-row label distributions [when the data has them].")] = None,
    layer_decay: Annotated[float | None, typer.Option(
        help="Layer-wise learning-rate decay; 1 = off [1.0].")] = None,
    label_smoothing: Annotated[float | None, typer.Option(
        help="Label smoothing of the loss [0].")] = None,
    class_weight: Annotated[str | None, typer.Option(
        help="none, or balanced: weight the loss by inverse class frequency [none].")] = None,
    rdrop: Annotated[float | None, typer.Option(
        help="R-Drop weight: pull two dropout passes together; 0 = off [0].")] = None,
    average_checkpoints: Annotated[int | None, typer.Option(
        help="Average the weights of the last N checkpoints; kept if not worse on dev [0].")
    ] = None,
    min_steps: Annotated[int | None, typer.Option(
        help="At least this many steps; small data gets more epochs [300].")] = None,
    eval_steps: Annotated[int | None, typer.Option(
        help="Evaluate every N steps instead of every epoch.")] = None,
    early_stopping: Annotated[int | None, typer.Option(
        help="Patience in evaluations; 0 disables [2].")] = None,
    calibrate: Annotated[bool | None, typer.Option(
        "--calibrate/--no-calibrate", help="Temperature-scale probabilities on dev [yes].")] = None,
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
    pseudo_labels: Annotated[Path | None, typer.Option(
        help="Self-training: rows a model labelled (kanjo predict --output F.jsonl), added "
             "to training with their probabilities as targets.")] = None,
    pseudo_rows: Annotated[int | None, typer.Option(
        help="Use a random sample of this many pseudo-labelled rows; 0 = all [0].")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
) -> None:
    """Fine-tune a classifier on labelled text and save it to --out."""
    _quiet_libraries()
    from kanjo.config import TrainConfig
    from kanjo.evaluation.metrics import summary_line
    from kanjo.training.finetune import train as train_model

    flags = dict(
        model=model, epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length,
        warmup=warmup, weight_decay=weight_decay, seed=seed, freeze_encoder=freeze_encoder,
        freeze_embeddings=freeze_embeddings, soft_labels=soft_labels, layer_decay=layer_decay,
        label_smoothing=label_smoothing, class_weight=class_weight, rdrop=rdrop,
        average_checkpoints=average_checkpoints,
        min_steps=min_steps,
        eval_steps=eval_steps,
        early_stopping=early_stopping, calibrate=calibrate, device=device, labels=labels,
        format=None if format == "auto" else format, text_column=text_column,
        label_column=label_column, dev=str(dev) if dev else None, dev_split=dev_split,
        train_splits=train_splits,
        pseudo_labels=str(pseudo_labels) if pseudo_labels else None, pseudo_rows=pseudo_rows,
    )
    if config is not None:
        cfg = TrainConfig.from_file(config, **flags)
    else:
        cfg = TrainConfig.from_dict({k: v for k, v in flags.items() if v is not None}, "flags")
    classifier = train_model(data, out_dir, cfg, resume=resume, overwrite=overwrite)
    meta = classifier.meta
    err.print(f"[green]saved[/green] {out_dir}  ({meta['timings']['train_seconds']:.0f} s)")
    if "pseudo_labels" in meta["data"]:
        pseudo = meta["data"]["pseudo_labels"]
        err.print(f"pseudo-labels: trained on {pseudo['rows']} rows of {pseudo['file']} "
                  f"({pseudo['skipped_labelled']} left out as already labelled, "
                  f"{pseudo['unused']} not sampled)")
    if "dev_metrics" in meta:
        err.print(f"dev: {summary_line(meta['dev_metrics'])}")


@app.command()
def cv(
    data: Annotated[Path, typer.Argument(help="Labelled data (test rows are left out).")],
    folds: Annotated[int, typer.Option(help="Number of stratified folds.")] = 5,
    model: Annotated[str | None, typer.Option(
        help="default, tfidf, a local directory or a hub id.")] = None,
    config: Annotated[Path | None, typer.Option(
        help="YAML/TOML file of training options (as for train).")] = None,
    epochs: Annotated[float | None, typer.Option(help="Training epochs.")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for folds and training.")] = None,
    fold_seed: Annotated[int | None, typer.Option(
        help="Seed for the folds alone [--seed]: compare training seeds on the same folds.")
    ] = None,
    soft_labels: Annotated[bool | None, typer.Option(
        "--soft-labels/--no-soft-labels",
        help="Train on per-row label distributions [when the data has them].")] = None,
    labels: Annotated[str | None, typer.Option(help="Label names in id order.")] = None,
    format: Format = "auto",
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    predictions: Annotated[Path | None, typer.Option(
        help="Write the out-of-fold predictions (CSV: row, fold, gold, predicted, one "
             "probability per label) to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Stratified k-fold cross-validation: a table per fold and mean ± sd of every metric."""
    _quiet_libraries()
    from kanjo.config import TrainConfig
    from kanjo.training.cross_validation import cross_validate

    flags = dict(model=model, epochs=epochs, lr=lr, seed=seed, soft_labels=soft_labels,
                 labels=labels, format=None if format == "auto" else format,
                 text_column=text_column, label_column=label_column)
    cfg = (TrainConfig.from_file(config, **flags) if config is not None else
           TrainConfig.from_dict({k: v for k, v in flags.items() if v is not None}, "flags"))
    if predictions is not None:
        check_output_file(predictions)
    report = cross_validate(data, cfg, folds, fold_seed)
    if predictions is not None:
        from kanjo.training.cross_validation import write_predictions

        write_predictions(report, predictions)
    for key in ("rows", "fold", "y", "oof_proba"):
        report.pop(key)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        from kanjo.cli.render import print_cv

        print_cv(out, report)


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
    from kanjo.inference.classifier import Classifier

    classifier = Classifier.load(model)
    metrics = classifier.evaluate(data, split=split, batch_size=batch_size, format=format,
                                  text_column=text_column, label_column=label_column)
    if as_json:
        print(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        from kanjo.cli.render import print_metrics

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
    from kanjo.inference.classifier import Classifier

    items = list(texts or [])
    if input is not None:
        items += _read_input(input, format, text_column)
    if not items:
        raise KanjoError("no texts given", hint="pass texts as arguments or --input FILE")
    if output is not None:
        check_output_file(output)
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
    write_text_atomic(output, buffer.getvalue())


TrimTexts = Annotated[Path | None, typer.Option(
    help="Also keep every piece these texts use (txt: a text a line; CSV/TSV/JSONL).")]


@app.command()
def export(
    model: Annotated[str, typer.Argument(help="A trained transformer model directory.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output ONNX model directory.")],
    quantize: Annotated[str | None, typer.Option(
        help="int8: about 4x smaller and 2x faster on CPU, a text's scores independent of its "
             "batch (calibrated on the training texts); int8-blockwise: as small and "
             "batch-independent, not faster; int8-dynamic: onnxruntime's dynamic int8, whose "
             "labels and scores CHANGE with the texts batched beside it.")] = None,
    trim_vocab: Annotated[bool, typer.Option(
        "--trim-vocab", help="Keep only the vocabulary Japanese text needs.")] = False,
    trim_texts: TrimTexts = None,
    calibration_texts: Annotated[Path | None, typer.Option(
        help="Texts --quantize int8 calibrates on (default: the training file's).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
) -> None:
    """Export to ONNX for fast CPU inference; predict and evaluate use it like any model."""
    _quiet_libraries()
    from kanjo.export.onnx import export as export_model

    texts = _read_input(str(trim_texts), "auto", None) if trim_texts else None
    calibration = (_read_input(str(calibration_texts), "auto", None) if calibration_texts
                   else None)
    path = export_model(model, out_dir, quantize=quantize, trim_vocab=trim_vocab or bool(texts),
                        trim_texts=texts, overwrite=overwrite, calibration_texts=calibration)
    size = sum(p.stat().st_size for p in path.iterdir())
    err.print(f"[green]saved[/green] {path}  ({size / 1e6:.1f} MB)")


@app.command()
def trim(
    model: Annotated[str, typer.Argument(
        help="default, a base encoder directory or a trained model directory.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output model directory.")],
    texts: TrimTexts = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
) -> None:
    """Drop the vocabulary Japanese text does not need (a smaller, faster-to-train model:
    `kanjo train --model DIR`)."""
    _quiet_libraries()
    from kanjo.models.vocab_trim import trim as trim_model

    summary = trim_model(model, out_dir, _read_input(str(texts), "auto", None) if texts else (),
                         overwrite=overwrite)
    err.print(f"[green]saved[/green] {out_dir}  ({summary['pieces']:,} of "
              f"{summary['original_pieces']:,} pieces kept)")


@app.command("fill-mask")
def fill_mask(
    model: Annotated[str, typer.Argument(
        help="A masked LM: a `kanjo pretrain` output, a transformers directory or a hub id.")],
    text: Annotated[str, typer.Argument(help="Text with [MASK] where tokens are missing.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Candidates per mask.")] = 5,
    compare: Annotated[list[str] | None, typer.Option(
        help="More models to show side by side (repeat, or separate with commas).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Predict the tokens behind [MASK] (translated to each model's own mask token)."""
    _quiet_libraries()
    from kanjo.inference.fill_mask import MaskFiller, print_fill_results

    if top_k < 1:
        raise KanjoError(f"--top-k must be ≥ 1, got {top_k}")
    specs = [model] + [s.strip() for item in compare or [] for s in item.split(",") if s.strip()]
    results = [MaskFiller.load(spec)(text, top_k) for spec in specs]
    if as_json:
        payload: Any = results[0].to_dict() if len(results) == 1 else {
            "text": text, "results": [r.to_dict() for r in results]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    print_fill_results(out, results)


@app.command()
def pretrain(
    text: Annotated[Path, typer.Option(
        help="Unlabelled text: one sentence a line (.txt), or a CSV/TSV/JSONL text column.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output model directory.")],
    model: Annotated[str, typer.Option(
        help="default (offline encoder), a local directory or a hub id.")] = "default",
    steps: Annotated[int | None, typer.Option(help="Optimisation steps.")] = None,
    epochs: Annotated[float | None, typer.Option(
        help="Passes over the text (instead of --steps) [1].")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Sentences per step [32].")] = None,
    lr: Annotated[float | None, typer.Option(
        help="Peak learning rate of the encoder [1e-4].")] = None,
    head_lr: Annotated[float | None, typer.Option(
        help="Peak learning rate of a newly added MLM head [3e-3].")] = None,
    head_steps: Annotated[int | None, typer.Option(
        help="First train a new head alone for N steps, the encoder frozen [0].")] = None,
    warmup: Annotated[float | None, typer.Option(
        help="Warm-up: fraction of steps if < 1, else steps [0.1].")] = None,
    mask_prob: Annotated[float | None, typer.Option(
        help="Fraction of tokens to predict [0.15].")] = None,
    whole_word: Annotated[bool | None, typer.Option(
        "--whole-word/--no-whole-word",
        help="Mask whole words (fugashi + unidic-lite boundaries) [no].")] = None,
    freeze_embeddings: Annotated[bool | None, typer.Option(
        "--freeze-embeddings/--no-freeze-embeddings",
        help="Keep word embeddings (= the tied decoder) fixed [yes].")] = None,
    max_length: Annotated[int | None, typer.Option(help="Max tokens per sentence [128].")] = None,
    eval_size: Annotated[int | None, typer.Option(
        help="Sentences held out for evaluation (≤ a tenth of the text) [2000].")] = None,
    eval_steps: Annotated[int | None, typer.Option(
        help="Evaluate every N steps (always at the end).")] = None,
    save_steps: Annotated[int | None, typer.Option(
        help="Checkpoint every N steps for --resume [100].")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed [42].")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps [auto].")] = None,
    format: Format = "auto",
    text_column: TextColumn = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
) -> None:
    """Continue masked-LM pretraining on unlabelled text; the output works with fill-mask and
    as `kanjo train --model DIR`."""
    _quiet_libraries()
    from kanjo.training.pretraining import PretrainConfig
    from kanjo.training.pretraining import pretrain as run_pretraining

    flags = dict(
        model=model, steps=steps, epochs=epochs, batch_size=batch_size, lr=lr, head_lr=head_lr,
        head_steps=head_steps, warmup=warmup, mask_prob=mask_prob, whole_word=whole_word,
        freeze_embeddings=freeze_embeddings, max_length=max_length, eval_size=eval_size,
        eval_steps=eval_steps, save_steps=save_steps, seed=seed, device=device, format=format,
        text_column=text_column,
    )
    config = PretrainConfig(**{k: v for k, v in flags.items() if v is not None})
    result = run_pretraining(text, out_dir, config, resume=resume, overwrite=overwrite)
    meta = result.meta
    err.print(f"[green]saved[/green] {out_dir}  ({meta['timings']['train_seconds']:.0f} s, "
              f"{meta['steps']} steps)")
    if meta["metrics"]:
        m = meta["metrics"]
        err.print(f"held-out: top-1 {m['top1']:.4f} · top-5 {m['top5']:.4f} · perplexity "
                  f"{m['perplexity']:.2f} ({m['masked_tokens']} masked tokens)")


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
