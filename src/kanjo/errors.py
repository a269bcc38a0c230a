"""User-facing errors.

Every problem a user can fix (bad input, a missing file, an unknown model) is raised as a
:class:`KanjoError`. The CLI prints its message and exits with code 2; tracebacks are shown
only with ``--debug``.
"""

from __future__ import annotations

from pathlib import Path


class KanjoError(Exception):
    """An error the user can act on: names the file, the line/row and a hint when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}, line {self.line}"
            where += ": "
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __reduce__(self) -> tuple:
        # pickled whole (file, line, hint), as Ray tasks and torch.distributed pass it on
        return (_rebuild, (type(self), self.message, self.file, self.line, self.hint))


def _rebuild(cls: type[KanjoError], message: str, file: str | None, line: int | None,
             hint: str | None) -> KanjoError:
    return cls(message, file=file, line=line, hint=hint)


class DataError(KanjoError):
    """A problem in an input data file."""


class ModelError(KanjoError):
    """A model that cannot be found, loaded or built."""


class ConfigError(KanjoError):
    """An invalid option or configuration value."""


class DataWarning(UserWarning):
    """Input that kanjo read correctly but the user should know about (a repeated header that
    was skipped, label spellings merged, duplicate rows...). The CLI prints each one once as
    ``warning: …``; library users get them through the standard :mod:`warnings` module."""


def warn_data(message: str, *, file: str | Path | None = None, line: int | None = None) -> None:
    """Issue a :class:`DataWarning` naming the file (and line) like a :class:`KanjoError`."""
    import warnings

    where = ""
    if file is not None:
        where = f"{file}, line {line}: " if line is not None else f"{file}: "
    warnings.warn(DataWarning(where + message), stacklevel=2)
