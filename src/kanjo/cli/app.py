"""The ``kanjo`` command: a thin skin over the Python API.

Each command parses its flags, calls the API and prints; a :class:`KanjoError` becomes a clear
message and exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import os
import warnings
from typing import Annotated, Any

import typer
from rich.console import Console

from kanjo.errors import DataWarning, KanjoError

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


def _print_version(value: bool) -> None:
    if value:
        from kanjo import __version__

        out.print(f"kanjo {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the kanjo version and exit.")] = False,
) -> None:
    _state["debug"] = debug


def _quiet_libraries() -> None:
    """Library settings for every command, before torch/transformers are imported."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # OpenMP threads that spin while they wait make torch ~10x slower when other processes
    # share the cores (measured: 22 s against 1.5 s a step); passive waiting costs ~nothing
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


Model = Annotated[str, typer.Argument(
    metavar="MODEL", help="A model directory (kanjo output or export).")]
Format = Annotated[str, typer.Option(help="auto, csv, tsv, jsonl, jrte or txt.")]
TextColumn = Annotated[str | None, typer.Option(help="Column holding the text.")]
LabelColumn = Annotated[str | None, typer.Option(help="Column holding the label.")]
TextPairColumn = Annotated[str | None, typer.Option(
    help="Column holding the second text of a sentence pair (sentence2, text_b and hypothesis "
         "are found by themselves).")]
Device = Annotated[str, typer.Option(help="auto (a GPU when present), cpu, cuda, cuda:1, mps.")]
Encoding = Annotated[str | None, typer.Option(
    help="The input's text encoding, e.g. cp932 (Excel on Japanese Windows) [utf-8].")]


def _show_data_warnings() -> None:
    """Print each distinct DataWarning once, as ``warning: …`` on stderr."""
    shown: set[str] = set()
    default = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if not issubclass(category, DataWarning):
            default(message, category, *args, **kwargs)
        elif str(message) not in shown:
            shown.add(str(message))
            err.print(f"warning: {message}", style="yellow", highlight=False, markup=False)

    warnings.simplefilter("always", DataWarning)
    warnings.showwarning = show


def main(argv: list[str] | None = None) -> None:
    """Entry point. Usage errors are typer's own (usage text, exit 2); a :class:`KanjoError`
    becomes one message and exit 2; anything else an "internal error" line and exit 1 (the
    traceback with ``--debug``)."""
    try:
        with warnings.catch_warnings():
            _show_data_warnings()
            app(args=argv, prog_name="kanjo")  # standalone: click reports usage errors itself
    except SystemExit as exc:  # standalone mode always exits; success returns to the caller
        if exc.code not in (0, None):
            raise
    except KanjoError as exc:
        if _state["debug"]:
            raise
        err.print(f"error: {exc}", style="bold red", highlight=False, markup=False)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err.print("interrupted", style="red")
        raise SystemExit(130) from None
    except Exception as exc:
        if _state["debug"]:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc}\n(re-run as `kanjo --debug "
                  "COMMAND …` for the traceback, and please report it)", style="bold red",
                  highlight=False, markup=False)
        raise SystemExit(1) from None
