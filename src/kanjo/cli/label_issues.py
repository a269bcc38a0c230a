"""``kanjo label-issues``: rows whose labels look wrong, from cross-validated probabilities."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import typer

from kanjo.cli.app import _quiet_libraries, app, err, out
from kanjo.storage import check_output_file, write_text_atomic


@app.command("label-issues")
def label_issues(
    data: Annotated[Path, typer.Argument(help="Labelled data (test rows are left out).")],
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    model: Annotated[str | None, typer.Option(
        help="default, tfidf (a seconds-long check), a local directory or a hub id.")] = None,
    config: Annotated[Path | None, typer.Option(
        help="YAML/TOML file of training options (as for train).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for folds and training.")] = None,
    format: Annotated[str, typer.Option(help="auto, csv, tsv, jsonl, jrte or txt.")] = "auto",
    text_column: Annotated[str | None, typer.Option(help="Column holding the text.")] = None,
    label_column: Annotated[str | None, typer.Option(help="Column holding the label.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the suspects here as CSV (line, text, given, suggested, "
                            "quality, one probability per label).")] = None,
    show: Annotated[int, typer.Option(help="Rows to print.")] = 20,
) -> None:
    """Confident learning (cleanlab) on out-of-fold probabilities: the rows to re-check, most
    suspicious first."""
    _quiet_libraries()
    from rich.table import Table

    from kanjo.config import TrainConfig
    from kanjo.data import read_table
    from kanjo.evaluation.label_issues import find_label_issues
    from kanjo.training.cross_validation import cross_validate

    flags = dict(model=model, seed=seed, format=None if format == "auto" else format,
                 text_column=text_column, label_column=label_column)
    cfg = (TrainConfig.from_file(config, **flags) if config is not None else
           TrainConfig.from_dict({k: v for k, v in flags.items() if v is not None}, "flags"))
    if output is not None:
        check_output_file(output)
    report = cross_validate(data, cfg, folds)
    table = read_table(data, format=cfg.format, text_column=cfg.text_column,
                       label_column=cfg.label_column)
    names = report["labels"]
    proba = report["oof_proba"]
    issues = find_label_issues(report["y"], proba)
    rows = []
    for issue in issues:
        row = report["rows"][issue.index]
        rows.append([table.lines[row], table.texts[row], names[issue.given],
                     names[issue.suggested], f"{issue.quality:.6f}",
                     *(f"{p:.6f}" for p in proba[issue.index])])
    if output is not None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["line", "text", "given", "suggested", "quality",
                         *(f"p_{n}" for n in names)])
        writer.writerows(rows)
        write_text_atomic(output, buffer.getvalue())
    macro = report["summary"]["macro_f1"]["mean"]
    err.print(f"{len(issues)} of {report['n']} rows look mislabelled ({folds}-fold "
              f"cross-validation, macro-F1 {macro:.4f})"
              + (f"; written to {output}" if output is not None else ""))
    view = Table("line", "text", "given", "suggested", "quality", box=None)
    for line, text, given, suggested, quality, *_ in rows[:show]:
        view.add_row(str(line), text if len(text) <= 60 else text[:59] + "…", given,
                     suggested, quality[:5])
    if rows:
        out.print(view)
