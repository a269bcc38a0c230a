"""Command-line flags generated from a run configuration's fields (``TrainConfig``,
``PretrainConfig``): one flag per field, its help the field's docstring and its default the
field's default, so the flags, their help and the config files cannot disagree.

Every generated flag defaults to None ("not given"): a ``--config`` file's value then stands,
and a field given neither way keeps the dataclass default.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

from kanjo.config import RunConfig

_SIMPLE = (int, float, str)


def _flag_type(hint: Any) -> tuple[Any, bool]:
    """(the CLI type, whether it is an on/off switch) of a field's type hint: ``bool`` and
    ``bool | str`` ('auto') are switches, lists are given comma-separated."""
    args = set(typing.get_args(hint)) - {type(None)}
    if hint is bool or bool in args:
        return bool, True
    if hint in _SIMPLE:
        return hint, False
    if len(args) == 1 and next(iter(args)) in _SIMPLE:
        return next(iter(args)), False
    return str, False  # list[str] and anything else: a string the config parses


def config_parameters(cls: type[RunConfig], exclude: Iterable[str] = ()) -> list[inspect.Parameter]:
    """One keyword parameter per field of ``cls`` (except ``exclude``), annotated for typer."""
    hints = typing.get_type_hints(cls)
    docs = cls.field_docs()
    out = []
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        kind, switch = _flag_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        shown = ",".join(default) if isinstance(default, list) else default
        shown = {True: "yes", False: "no", None: "none"}.get(shown, shown) \
            if not isinstance(shown, int | float) or isinstance(shown, bool) else shown
        flag = "--" + f.name.replace("_", "-")
        decls = [f"{flag}/--no-{f.name.replace('_', '-')}"] if switch else [flag]
        option = typer.Option(*decls, help=f"{docs.get(f.name, '')} [default: {shown}]")
        out.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                     annotation=Annotated[kind | None, option]))
    return out


def with_config_options(cls: type[RunConfig], exclude: Iterable[str] = ()) -> Callable:
    """Decorate a command ``f(..., config: RunConfig)``: the command gets a flag per field of
    ``cls`` plus ``--config FILE``, and ``f`` receives the resulting config (file values,
    overridden by the flags given)."""
    exclude = tuple(exclude)

    def decorate(command: Callable) -> Callable:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name != "config"]
        config_flag = inspect.Parameter(
            "config_file", inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation=Annotated[str | None, typer.Option(
                "--config", help="YAML/TOML file of these options (flags given win).")])
        generated = config_parameters(cls, exclude)

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            file = kwargs.pop("config_file")
            flags = {p.name: kwargs.pop(p.name) for p in generated}
            given = {k: v for k, v in flags.items() if v is not None}
            config = cls.from_file(file, **given) if file else cls.from_dict(given, "flags")
            return command(config=config, **kwargs)

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        run.__signature__ = inspect.Signature([*parameters, config_flag, *generated])
        run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}
        del run.__wrapped__  # typer must see the generated signature, not the command's
        return run

    return decorate
