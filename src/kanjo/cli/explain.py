"""``kanjo explain``: which words drove each prediction (terminal colours, JSON or HTML)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from kanjo.cli.app import _quiet_libraries, app, err, out
from kanjo.cli.predict import _read_input
from kanjo.errors import KanjoError
from kanjo.storage import check_output_file, write_text_atomic


@app.command(short_help="Show which words drove a prediction.")
def explain(
    model: Annotated[str, typer.Argument(
        metavar="MODEL", help="A model directory (kanjo output or export).")],
    texts: Annotated[list[str] | None, typer.Argument(
        metavar="TEXTS", help="Texts to explain.")] = None,
    input: Annotated[str | None, typer.Option(
        "--input", "-i", help="File of texts (txt: one per line; CSV/TSV/JSONL), or - for stdin."
    )] = None,
    target: Annotated[str | None, typer.Option(
        help="Explain this label instead of the predicted one.")] = None,
    method: Annotated[str, typer.Option(
        help="auto, integrated-gradients, occlusion or tfidf [auto: integrated gradients for "
             "torch models, occlusion for ONNX exports, tfidf for tfidf].")] = "auto",
    steps: Annotated[int, typer.Option(
        help="Integrated-gradients steps (Gauss-Legendre; more: smaller delta).")] = 20,
    internal_batch_size: Annotated[int | None, typer.Option(
        help="Integrated gradients: rows per forward pass [all steps at once].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write a self-contained HTML page here.")] = None,
    format: Annotated[str, typer.Option(help="auto, csv, tsv, jsonl, jrte or txt.")] = "auto",
    text_column: Annotated[str | None, typer.Option(help="Column holding the text.")] = None,
) -> None:
    """Word-level attributions (MeCab words, signed scores) for the predicted label."""
    _quiet_libraries()
    from kanjo.explain import explain as explain_texts
    from kanjo.inference.classifier import Classifier

    items = list(texts or [])
    if input is not None:
        items += _read_input(input, format, text_column)
    if not items:
        raise KanjoError("no texts given", hint="pass texts as arguments or --input FILE")
    if html is not None:
        check_output_file(html)
    classifier = Classifier.load(model)
    results = explain_texts(classifier, items, target, method, steps=steps,
                            internal_batch_size=internal_batch_size)
    cut = sum(e.truncated for e in results)
    if cut:
        err.print(f"[yellow]warning:[/yellow] {cut} text(s) longer than "
                  f"{classifier.backend.max_length} tokens were truncated: their ends are not "
                  "explained")
    if html is not None:
        from kanjo.explain.html import explanation_page

        write_text_atomic(html, explanation_page(results))
        err.print(f"[green]saved[/green] {html}")
    if as_json:
        print(json.dumps([e.to_dict() for e in results], ensure_ascii=False, indent=2))
        return
    for e in results:
        _print_explanation(e)


def _print_explanation(e: Any) -> None:
    """Header, the text with each word on a green (for) or red (against) background, and the
    strongest words with their scores."""
    head = Text(f"{e.label}", style="bold")
    head.append(f"  explained: {e.target} · p={e.probability:.3f} · {e.method}", style="dim")
    if e.delta is not None:
        head.append(f" · delta {e.delta:+.3g}", style="dim")
    out.print(head)
    scale = max((abs(w.score) for w in e.words), default=0.0) or 1.0
    line, cursor = Text(), 0
    for w in e.words:
        line.append(e.text[cursor:w.start])
        level = min(abs(w.score) / scale, 1.0)
        shade = int(255 - 150 * level)
        colour = f"rgb({shade},255,{shade})" if w.score >= 0 else f"rgb(255,{shade},{shade})"
        line.append(w.word, style=f"black on {colour}" if level > 0.05 else "")
        cursor = w.end
    line.append(e.text[cursor:], style="dim")
    out.print(line)
    top = sorted(e.words, key=lambda w: -abs(w.score))[:5]
    out.print("  " + "  ".join(f"{w.word} {w.score:+.3g}" for w in top), highlight=False)
    if e.truncated:
        out.print("  (truncated: the end of this text was not seen)", style="yellow")
