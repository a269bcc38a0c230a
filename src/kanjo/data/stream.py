"""Streaming reads: the texts of a file (or standard input) in chunks of bounded size, each row
with the input's own columns, so that prediction runs in flat memory on inputs of any size.

Every chunk is parsed by the rules of :func:`~kanjo.data.readers.read_texts` (the same parsers,
run on one chunk at a time): row *n* keeps its source line number, nothing is dropped silently,
and a bad row stops the read with the :class:`~kanjo.errors.DataError` ``read_texts`` would
raise. Two decisions that ``read_texts`` takes over the whole file are taken per chunk here: a
TSV file is read as quoted TSV or plain TSV chunk by chunk, and a plain-text file is checked
for being a tab-separated table with a header on its first chunk only.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from kanjo.data import readers
from kanjo.errors import DataError

CHUNK_ROWS = 4096
"""Rows per chunk: large enough that length-sorted batches pad little, small enough that a
chunk's texts, token ids and output are a few MB."""
STDIN = "<stdin>"


@dataclass
class Chunk:
    """One chunk of an input: ``index`` counts chunks from 0; ``table`` holds its rows (texts,
    sentence pairs, source line numbers); ``records`` each row's input columns (``line`` and
    ``text`` for plain text), aligned with the table; ``columns`` names the input's columns
    seen so far, in input order."""

    index: int
    table: readers.Table
    records: list[dict[str, Any]]
    columns: list[str]

    def __len__(self) -> int:
        return len(self.table)

    @property
    def texts(self) -> list[str]:
        return self.table.texts

    @property
    def lines(self) -> list[int]:
        return self.table.lines

    @property
    def inputs(self) -> list[str] | list[tuple[str, str]]:
        """What a model reads per row (:attr:`~kanjo.data.readers.Table.inputs`)."""
        return self.table.inputs


def stream_texts(source: str | Path, format: str = "auto", text_column: str | None = None,
                 encoding: str | None = None, chunk_rows: int = CHUNK_ROWS,
                 text_pair_column: str | None = None) -> Iterator[Chunk]:
    """The texts of ``source`` (a path, or ``"-"`` for standard input, read as plain text) in
    chunks of at most ``chunk_rows`` rows, in input order; sentence pairs (``text_pairs``)
    where a table has a second text column (``text_pair_column``, or one of the pair names
    :func:`~kanjo.data.readers.read_texts` finds). A plain-text line that is empty or
    only whitespace is an error (output row *n* must be input line *n*). Raises
    :class:`DataError` naming the file and line for anything ``read_texts`` refuses; the error
    comes when the read reaches the bad row."""
    if source == "-" or source == Path("-"):
        if format not in ("auto", "txt", None):
            raise DataError(f"standard input is read as one text a line, not as {format}",
                            file=STDIN, hint="write the table to a file and pass --input FILE")
        yield from _plain_chunks(STDIN, _lines(sys.stdin), chunk_rows, check_table=False)
        return
    path = Path(source)
    fmt = readers.detect_format(path, require_labels=False) if format in ("auto", None) \
        else format
    if fmt == "tsv" and readers._looks_like_jrte(path):
        fmt = "jrte"
    if fmt not in readers.FORMATS[1:]:
        raise DataError(f"unknown format '{format}' (choose from {', '.join(readers.FORMATS)})",
                        file=path)
    handle = _open(path, encoding, newline="" if fmt == "csv" else "\n")
    try:
        with handle:
            if fmt == "txt":
                yield from _plain_chunks(path, _lines(handle), chunk_rows,
                                         check_table=format in ("auto", None))
            elif fmt == "csv":
                yield from _csv_chunks(path, handle, text_column, chunk_rows, text_pair_column)
            else:
                yield from _line_chunks(path, fmt, _lines(handle), text_column, chunk_rows,
                                        text_pair_column)
    except UnicodeDecodeError:
        readers.decode_file(path, encoding)  # raises the whole-file reader's exact error
        raise


def count_lines(source: str | Path, block: int = 1 << 20) -> int | None:
    """Line feeds in the file ``source`` (a fast upper bound of its rows, for a progress bar's
    ETA); None for standard input or an unreadable file."""
    if source == "-":
        return None
    try:
        with open(source, "rb") as handle:
            return sum(piece.count(b"\n") for piece in iter(lambda: handle.read(block), b""))
    except OSError:
        return None


def _open(path: Path, encoding: str | None, newline: str) -> IO[str]:
    """``path`` as text: UTF-8 (a UTF-8 BOM dropped), UTF-16/32 by their BOM, or ``encoding``.
    A file that cannot be opened, or an unknown encoding, raises the error
    :func:`~kanjo.data.readers.decode_file` raises for it."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed by the caller's with-block)
    except OSError:
        readers.decode_file(path, encoding)
        raise
    codec = encoding
    if codec is None:
        head = raw.peek(4)[:4]
        codec = next((name for bom, name in readers._BOMS if head.startswith(bom)), "utf-8")
    try:
        return _Text(raw, codec, newline, drop_bom=encoding is not None)
    except LookupError:
        raw.close()
        readers.decode_file(path, encoding)
        raise


class _Text(io.TextIOWrapper):
    """A text stream that drops a leading BOM that its codec keeps (an explicit
    ``encoding``) and refuses NUL characters as :func:`~kanjo.data.readers.decode_file` does."""

    def __init__(self, raw: IO[bytes], codec: str, newline: str, drop_bom: bool):
        super().__init__(raw, encoding=codec, errors="strict", newline=newline)
        self._first = drop_bom
        self._path = Path(raw.name)
        self._encoding = codec if drop_bom else None

    def __next__(self) -> str:
        line = super().__next__()
        if self._first:
            self._first = False
            line = line.removeprefix("\ufeff")
        if "\x00" in line:
            readers.decode_file(self._path, self._encoding)  # names the line and the fix
        return line


def _lines(handle: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) split at LF only, a CR before the LF dropped
    (:func:`~kanjo.data.readers.physical_lines`)."""
    for number, line in enumerate(handle, start=1):
        yield number, line.removesuffix("\n").removesuffix("\r")


def _plain_chunks(path: str | Path, lines: Iterator[tuple[int, str]], chunk_rows: int,
                  check_table: bool) -> Iterator[Chunk]:
    index = 0
    columns = ["line", "text"]
    while part := list(islice(lines, chunk_rows)):
        if index == 0 and check_table:
            readers._refuse_tab_table(Path(path), part)
        for number, line in part:
            if not line.strip():
                raise readers.blank_line_error(path, number)
        table = readers.Table(Path(path), "txt", [line for _, line in part],
                              [n for n, _ in part])
        yield Chunk(index, table, [{"line": n, "text": line} for n, line in part], columns)
        index += 1
    if index == 0:
        raise DataError("contains no rows", file=path)


def _line_chunks(path: Path, fmt: str, lines: Iterator[tuple[int, str]],
                 text_column: str | None, chunk_rows: int,
                 text_pair_column: str | None = None) -> Iterator[Chunk]:
    """JSONL, TSV and JRTE: a chunk of physical lines at a time (TSV with its header line)."""
    index, rows, header = 0, 0, None
    columns: list[str] = []
    while part := list(islice(lines, chunk_rows)):
        if fmt == "jrte":
            table = readers._read_jrte(path, [(n, line) for n, line in part if line.strip()])
            fields = (("id", "label", "text_pair", "text", "judges", "reasoning", "usage")
                      if table.text_pairs is not None
                      else ("id", "label", "text", "judges", "usage"))
            records = [dict(zip(fields, line.split("\t"), strict=True))
                       for _, line in part if line.strip()]
        else:
            if fmt == "jsonl":
                first = "\n".join(line for _, line in part) if index == 0 else ""
                numbered = readers._read_jsonl(path, first, part)
            else:
                if header is None:
                    header = next(((n, line) for n, line in part
                                   if any(cell.strip() for cell in line.split("\t"))), None)
                    if header is None:
                        continue
                else:
                    part = [header, *part]
                text = "".join(line + "\n" for _, line in part)
                numbered = readers._read_delimited(path, text, part, "tsv", {},
                                                   [n for n, _ in part])
            if not numbered:
                continue
            table = readers._from_records(path, fmt, numbered, text_column, None, None, None,
                                          require_labels=False,
                                          text_pair_column=text_pair_column)
            text_column = table.columns["text"]
            text_pair_column = table.columns.get("text_pair") or text_pair_column
            records = [record for _, record in numbered]
        if not len(table):
            continue
        readers._check_texts(table)
        columns = list(dict.fromkeys([*columns, *(k for record in records for k in record)]))
        rows += len(table)
        yield Chunk(index, table, records, columns)  # a new list each chunk
        index += 1
    if header is None and fmt == "tsv":
        raise DataError("is empty", file=path)
    if not rows:
        raise DataError("contains no rows", file=path)


def _csv_chunks(path: Path, handle: IO[str], text_column: str | None,
                chunk_rows: int, text_pair_column: str | None = None) -> Iterator[Chunk]:
    """CSV: records parsed strictly from the stream (quoted cells may span lines), the header
    put before each chunk's rows."""
    index, rows, header = 0, 0, None
    parsed = readers.iter_csv_rows(handle, ",")
    while True:
        try:
            part = list(islice(parsed, chunk_rows))
        except readers._CsvProblem as problem:
            raise problem.error(path, ",") from None
        if not part:
            break
        if header is None:
            header = next(((n, row) for n, row in part if any(c.strip() for c in row)), None)
            if header is None:
                continue
        else:
            part = [header, *part]
        numbered = readers._records(path, part, "csv", {})
        if not numbered:
            continue
        table = readers._from_records(path, "csv", numbered, text_column, None, None, None,
                                      require_labels=False, text_pair_column=text_pair_column)
        text_column = table.columns["text"]
        text_pair_column = table.columns.get("text_pair") or text_pair_column
        readers._check_texts(table)
        records = [record for _, record in numbered]
        rows += len(table)
        yield Chunk(index, table, records, list(records[0]))
        index += 1
    if header is None:
        raise DataError("is empty", file=path)
    if not rows:
        raise DataError("contains no rows", file=path)
