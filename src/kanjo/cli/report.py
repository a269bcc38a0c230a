"""``kanjo report``: a self-contained HTML report of a model on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kanjo.cli.app import _quiet_libraries, app, err
from kanjo.storage import check_output_file, write_text_atomic


@app.command(short_help="Write a self-contained HTML report.")
def report(
    model: Annotated[str, typer.Argument(
        metavar="MODEL", help="A model directory (kanjo output or export).")],
    data: Annotated[Path, typer.Argument(
        metavar="DATA", help="Labelled data to report on.")],
    output: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    split: Annotated[str | None, typer.Option(
        help="Only rows of this split/usage value (train, dev, test).")] = None,
    issues: Annotated[Path | None, typer.Option(
        help="A `kanjo label-issues --out` CSV to show.")] = None,
    errors: Annotated[int, typer.Option(help="Most confident errors to show.")] = 10,
    explain_method: Annotated[str, typer.Option(
        help="How the errors' words are highlighted (as kanjo explain --method).")] = "auto",
    format: Annotated[str, typer.Option(help="auto, csv, tsv, jsonl, jrte or txt.")] = "auto",
    text_column: Annotated[str | None, typer.Option(help="Column holding the text.")] = None,
    label_column: Annotated[str | None, typer.Option(help="Column holding the label.")] = None,
) -> None:
    """Metrics with 95 % intervals, per-class scores, confusion heat map, calibration, PR and
    training curves, confident errors with highlights, label issues and a model card."""
    _quiet_libraries()
    from kanjo.inference.classifier import Classifier
    from kanjo.report import build_report

    check_output_file(output)
    classifier = Classifier.load(model)
    html = build_report(classifier, data, split=split, issues=issues, errors=errors,
                        explain_method=explain_method, format=format, text_column=text_column,
                        label_column=label_column)
    write_text_atomic(output, html)
    err.print(f"[green]saved[/green] {output}  ({len(html.encode()) / 1e3:.0f} kB)")
