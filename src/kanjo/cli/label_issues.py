"""``kanjo label-issues``: rows whose labels look wrong, from cross-validated probabilities."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer

from kanjo.cli.app import _quiet_libraries, app, err, out
from kanjo.cli.options import with_config_options
from kanjo.config import TrainConfig
from kanjo.storage import check_output_file, write_text_atomic


@app.command("label-issues", short_help="Find rows whose labels look wrong.")
@with_config_options(TrainConfig)
def label_issues(
    data: Annotated[Path, typer.Argument(
        metavar="DATA", help="Labelled data (test rows are left out).")],
    config: TrainConfig,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    output: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the suspects here as CSV (line, text, given, suggested, "
                            "quality, one probability per label).")] = None,
    show: Annotated[int, typer.Option(help="Rows to print.")] = 20,
) -> None:
    """Confident learning (cleanlab) on out-of-fold probabilities: the rows to re-check, most
    suspicious first. Every training option of `kanjo train` applies to the folds; --model
    tfidf makes it a seconds-long check."""
    _quiet_libraries()
    from rich.table import Table

    from kanjo.data import read_table
    from kanjo.evaluation.label_issues import find_label_issues
    from kanjo.training.cross_validation import cross_validate

    cfg = config
    if cfg.task == "regression":  # classification and multi-label have probabilities
        from kanjo.errors import ConfigError

        raise ConfigError("label-issues finds wrong labels from out-of-fold class "
                          "probabilities: a regression task has none",
                          hint="for a regression, look at the largest out-of-fold errors: "
                               "kanjo cv --task regression --predictions FILE")
    if output is not None:
        check_output_file(output)
    report = cross_validate(data, cfg, folds)
    table = read_table(data, format=cfg.format, text_column=cfg.text_column,
                       label_column=cfg.label_column, encoding=cfg.encoding)
    names = report["labels"]
    proba = report["oof_proba"]
    issues = find_label_issues(report["y"], proba)

    def named(ids: int | tuple[int, ...]) -> str:  # a label set: ["部屋", "食事"]
        return names[ids] if isinstance(ids, int) else json.dumps(
            [names[i] for i in ids], ensure_ascii=False)

    rows = []
    for issue in issues:
        row = report["rows"][issue.index]
        rows.append([table.lines[row], table.texts[row], named(issue.given),
                     named(issue.suggested), f"{issue.quality:.6f}",
                     *(f"{p:.6f}" for p in proba[issue.index])])
    if output is not None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["line", "text", "given", "suggested", "quality",
                         *(f"p_{n}" for n in names)])
        writer.writerows(rows)
        write_text_atomic(output, buffer.getvalue())
    macro = report["summary"]["macro_f1"]["mean"]  # multi-label: macro-F1 over the labels
    err.print(f"{len(issues)} of {report['n']} rows look mislabelled ({folds}-fold "
              f"cross-validation, macro-F1 {macro:.4f})"
              + (f"; written to {output}" if output is not None else ""))
    view = Table("line", "text", "given", "suggested", "quality", box=None)
    for line, text, given, suggested, quality, *_ in rows[:show]:
        view.add_row(str(line), text if len(text) <= 60 else text[:59] + "…", given,
                     suggested, quality[:5])
    if rows:
        out.print(view)
