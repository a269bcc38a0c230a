"""Data given in memory — a pandas DataFrame, a list of ``(text, label)`` pairs or of records,
or ``(texts, labels)`` — read into a :class:`~kanjo.data.readers.Table` through the same column
detection and checks as a file, so that ``kanjo.train(df, ...)`` and ``clf.evaluate(pairs)``
behave exactly like their file forms."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kanjo.data.readers import Table, _check_texts, _from_records, read_table
from kanjo.errors import ConfigError
from kanjo.storage import sha256_file

IN_MEMORY = Path("<in-memory data>")


def as_table(data: Any, *, format: str = "auto", text_column: str | None = None,
             label_column: str | None = None, require_labels: bool = True,
             **read_options: Any) -> Table:
    """``data`` as a Table: a path (read with :func:`read_table` and ``read_options``), a Table,
    a DataFrame (its columns found like a CSV file's, two text columns as sentence pairs), a
    sequence of ``(text, label)`` or ``((text, text_pair), label)`` rows or of mappings, or a
    ``(texts, labels)`` pair of equal-length sequences. Rows are numbered from 1 in error
    messages. Raises :class:`ConfigError` for any other type and
    :class:`~kanjo.errors.DataError` for bad rows."""
    if isinstance(data, Table):
        return data
    if isinstance(data, str | os.PathLike):
        return read_table(data, format, text_column=text_column, label_column=label_column,
                          require_labels=require_labels, **read_options)
    source, records = _records(data)
    table = _from_records(source, "memory", records, text_column, label_column, None, None,
                          require_labels, read_options.get("text_pair_column"),
                          read_options.get("task"))
    _check_texts(table)
    return table


def fingerprint(table: Table) -> str:
    """sha256 of the file a table was read from, or of its rows when it came from memory."""
    if table.path.is_file():
        return sha256_file(table.path)
    rows = json.dumps([table.texts, table.labels, table.soft, table.splits]
                      + ([table.text_pairs] if table.text_pairs is not None else []),
                      ensure_ascii=False)
    return hashlib.sha256(rows.encode("utf-8")).hexdigest()


def _records(data: Any) -> tuple[Path, list[tuple[int, dict]]]:
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        rows = data.to_dict(orient="records")
        return Path("<DataFrame>"), [(i, {str(k): v for k, v in row.items()})
                                     for i, row in enumerate(rows, start=1)]
    if (isinstance(data, tuple) and len(data) == 2 and all(
            isinstance(part, Sequence) and not isinstance(part, str) for part in data)
            and len(data[0]) == len(data[1]) and all(isinstance(t, str) for t in data[0])):
        texts, labels = data
        return IN_MEMORY, [(i, {"text": t, "label": y})
                           for i, (t, y) in enumerate(zip(texts, labels, strict=True), start=1)]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        records = []
        for i, row in enumerate(data, start=1):
            if isinstance(row, Mapping):
                records.append((i, {str(k): v for k, v in row.items()}))
            elif isinstance(row, Sequence) and not isinstance(row, str) and len(row) == 2:
                text = row[0]
                if isinstance(text, tuple | list) and len(text) == 2:  # ((text, pair), label)
                    records.append((i, {"text": text[0], "text_pair": text[1],
                                        "label": row[1]}))
                else:
                    records.append((i, {"text": text, "label": row[1]}))
            else:
                raise ConfigError(f"row {i} of the data is a {type(row).__name__}: give (text, "
                                  "label) pairs, mappings with text and label keys, or a "
                                  "DataFrame")
        return IN_MEMORY, records
    raise ConfigError(f"cannot read data of type {type(data).__name__}",
                      hint="pass a file path, a pandas DataFrame, a list of (text, label) "
                           "pairs or (texts, labels)")
