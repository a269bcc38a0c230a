"""``kanjo export`` and ``kanjo trim``: a fast ONNX model, a smaller vocabulary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kanjo.cli.app import _quiet_libraries, app, err
from kanjo.cli.predict import _read_input

TrimTexts = Annotated[Path | None, typer.Option(
    help="Also keep every piece these texts use (txt: a text a line; CSV/TSV/JSONL).")]


@app.command(short_help="Export to ONNX (int8) for fast CPU use.")
def export(
    model: Annotated[str, typer.Argument(
        metavar="MODEL", help="A trained transformer model directory.")],
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


@app.command(short_help="Drop vocabulary Japanese text does not need.")
def trim(
    model: Annotated[str, typer.Argument(
        metavar="MODEL", help="default, a base encoder directory or a trained model directory.")],
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
