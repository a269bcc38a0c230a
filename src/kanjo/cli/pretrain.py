"""``kanjo pretrain`` and ``kanjo fill-mask``: masked-LM pretraining and its fill-in test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kanjo.cli.app import _quiet_libraries, app, err, out
from kanjo.cli.options import with_config_options
from kanjo.config import PretrainConfig
from kanjo.errors import KanjoError


@app.command("fill-mask", short_help="Fill [MASK] with a masked LM.")
def fill_mask(
    model: Annotated[str, typer.Argument(
        metavar="MODEL",
        help="A masked LM: a `kanjo pretrain` output, a transformers directory or a hub id.")],
    text: Annotated[str, typer.Argument(
        metavar="TEXT", help="Text with [MASK] where tokens are missing.")],
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


@app.command(short_help="Continue masked-LM pretraining.")
@with_config_options(PretrainConfig)
def pretrain(
    text: Annotated[Path, typer.Option(
        help="Unlabelled text: one sentence a line (.txt), or a CSV/TSV/JSONL text column.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output model directory.")],
    config: PretrainConfig,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
) -> None:
    """Continue masked-LM pretraining on unlabelled text; the output works with fill-mask and
    as `kanjo train --model DIR`."""
    _quiet_libraries()
    from kanjo.training.pretraining import pretrain as run_pretraining

    result = run_pretraining(text, out_dir, config, resume=resume, overwrite=overwrite)
    meta = result.meta
    err.print(f"[green]saved[/green] {out_dir}  ({meta['timings']['train_seconds']:.0f} s, "
              f"{meta['steps']} steps)")
    if meta["metrics"]:
        m = meta["metrics"]
        err.print(f"held-out: top-1 {m['top1']:.4f} · top-5 {m['top5']:.4f} · perplexity "
                  f"{m['perplexity']:.2f} ({m['masked_tokens']} masked tokens)")
