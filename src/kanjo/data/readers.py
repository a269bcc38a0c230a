"""Readers: CSV/TSV with a header, JSONL, the JRTE corpus format and plain text.

Every reader returns a :class:`Table` whose rows keep their source line numbers, so that any
later problem (an unknown label, an empty text) is reported against the line the user can open.
Nothing is dropped silently: a bad row stops the read with a :class:`DataError`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kanjo.errors import DataError, warn_data

FORMATS = ("auto", "csv", "tsv", "jsonl", "jrte", "txt")
# column names found by themselves, English and Japanese (a spreadsheet's own headers)
TEXT_COLUMNS = ("text", "sentence", "review", "content", "body", "テキスト", "文章", "本文",
                "レビュー", "口コミ", "コメント", "文", "内容")
LABEL_COLUMNS = ("label", "labels", "sentiment", "category", "class", "ラベル", "感情",
                 "極性", "評価", "カテゴリ", "カテゴリー", "分類", "クラス", "score", "rating",
                 "stars", "similarity", "スコア", "点数")
SPLIT_COLUMNS = ("split", "usage", "分割", "用途")
# sentence pairs found by themselves: (first text, second text), the tokenizer's pair order
PAIR_COLUMNS = (("sentence1", "sentence2"), ("text_a", "text_b"), ("premise", "hypothesis"),
                ("text", "text_pair"))
SOFT_COLUMNS = ("judges", "soft_labels", "label_distribution", "probabilities")
# The JRTE corpus' classification files share one layout; the id prefix names the task.
# label value → name, in id order (unknown prefixes read as pn, the sentiment file)
JRTE_TASKS = {
    "pn": {"-1": "negative", "0": "neutral", "1": "positive"},
    "rhr": {"0": "not_reputation", "1": "reputation"},  # is the sentence about the hotel?
    "rte": {"0": "non_entailment", "1": "entailment"},  # pairs: does the premise entail it?
}
JRTE_PAIR_TASKS = ("rte",)
"""JRTE tasks whose rows are sentence pairs: id, label, hypothesis, premise, judges,
reasoning, usage."""
JRTE_LABELS = JRTE_TASKS["pn"]
# Cells that hold no label: empty, or NaN as pandas and numpy print a missing number. Words
# such as none, null, NA and N/A are real labels ("no opinion", "not applicable").
_MISSING = {"", "nan"}


@dataclass
class Table:
    """Rows of text (or of sentence pairs: ``texts[i]`` with ``text_pairs[i]``) with optional
    labels, per-row label distributions and split names."""

    path: Path
    format: str
    texts: list[str]
    lines: list[int]
    labels: list[str] | None = None
    soft: list[dict[str, float]] | None = None
    splits: list[str] | None = None
    label_names: tuple[str, ...] | None = None  # a format's own label order (JRTE)
    columns: dict[str, str] = field(default_factory=dict)
    text_pairs: list[str] | None = None
    """The second text of each row's pair (the premise's hypothesis, sentence2), or None."""
    stats: dict[str, object] = field(default_factory=dict)
    """What reading the file found: rows_read and, when non-zero, header_repeats (lines),
    empty_rows_skipped; later steps add labels_merged, duplicates, conflicts and
    texts_normalised (see :mod:`kanjo.training.prepare`)."""

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def inputs(self) -> list[str] | list[tuple[str, str]]:
        """What a model reads per row: the text, or the ``(text, text_pair)`` pair."""
        if self.text_pairs is None:
            return self.texts
        return list(zip(self.texts, self.text_pairs, strict=True))

    def subset(self, index: Sequence[int]) -> Table:
        """The rows at ``index`` (in that order)."""
        pick = list(index)

        def take(values: list | None) -> list | None:
            return None if values is None else [values[i] for i in pick]

        return Table(
            self.path, self.format, take(self.texts), take(self.lines), take(self.labels),
            take(self.soft), take(self.splits), self.label_names, dict(self.columns),
            take(self.text_pairs),
        )

    def where_split(self, *names: str) -> Table:
        """Rows whose split column is one of ``names``."""
        if self.splits is None:
            raise DataError("has no split/usage column to select rows from", file=self.path)
        return self.subset([i for i, s in enumerate(self.splits) if s in names])

    def error(self, row: int, message: str, hint: str | None = None) -> DataError:
        """A DataError pointing at row ``row`` (0-based index into this table)."""
        return DataError(message, file=self.path, line=self.lines[row], hint=hint)


def read_table(
    path: str | Path,
    format: str = "auto",
    text_column: str | None = None,
    label_column: str | None = None,
    split_column: str | None = None,
    soft_column: str | None = None,
    require_labels: bool = True,
    encoding: str | None = None,
    text_pair_column: str | None = None,
    task: str | None = None,
) -> Table:
    """Read a labelled (or, with ``require_labels=False``, unlabelled) text table.

    Texts and labels are kept exactly as the file holds them (quoted multi-line cells, quote
    characters in plain TSV, surrounding spaces); ``encoding`` (e.g. ``"cp932"``) overrides
    the default UTF-8 (a UTF-8 or UTF-16 BOM is honoured). Rows with no content at all
    (blank lines, ``,,,``) and a header repeated mid-file are skipped with a
    :class:`~kanjo.errors.DataWarning` naming the lines; anything that cannot be read exactly
    raises :class:`DataError` with the file, the line and the problem. Sentence pairs: the
    ``text_pair_column`` (or a pair of :data:`PAIR_COLUMNS` found by itself, or a JRTE rte
    file) fills ``table.text_pairs``. ``task`` (classification, regression, multi-label) only
    words the hint for a missing label."""
    path = Path(path)
    fmt = detect_format(path, require_labels) if format in ("auto", None) else format
    if fmt not in FORMATS[1:]:
        raise DataError(f"unknown format '{format}' (choose from {', '.join(FORMATS)})", file=path)
    text = decode_file(path, encoding)
    lines = physical_lines(text)
    stats: dict[str, object] = {}
    if fmt == "jrte":
        table = _read_jrte(path, [(n, line) for n, line in lines if line.strip()])
    elif fmt == "txt":
        if format in ("auto", None):
            _refuse_tab_table(path, lines)
        if require_labels:
            raise DataError("a plain-text file has no labels", file=path,
                            hint="use CSV/TSV/JSONL with a label column for training")
        table = Table(path, fmt, [line for _, line in lines], [n for n, _ in lines])
    else:
        if fmt == "jsonl":
            records = _read_jsonl(path, text, lines)
        else:
            records = _read_delimited(path, text, lines, fmt, stats)
        table = _from_records(
            path, fmt, records, text_column, label_column, split_column, soft_column,
            require_labels, text_pair_column, task,
        )
    table.stats = {"rows_read": len(table), **stats}
    if fmt != "txt":
        _check_texts(table)
        if not len(table):
            raise DataError("contains no rows", file=path)
    return table


def read_texts(path: str | Path, format: str = "auto", text_column: str | None = None,
               encoding: str | None = None, blank_lines: str = "skip",
               text_pair_column: str | None = None) -> Table:
    """Read texts only (for predict and pretrain). Plain text (``.txt``, and any file whose
    extension names no table format, or that has none) is one text per line, kept exactly;
    ``blank_lines`` says what an empty or whitespace-only line of it is: ``"skip"`` (a
    corpus for pretraining) or ``"error"`` (predict, where output row *n* must be input line
    *n*). Empty texts in a table are always an error."""
    path = Path(path)
    if format == "tsv" and _looks_like_jrte(path):
        format = "jrte"
    table = read_table(path, format, text_column=text_column, require_labels=False,
                       encoding=encoding, text_pair_column=text_pair_column)
    if table.format == "txt":
        blank = [i for i, text in enumerate(table.texts) if not text.strip()]
        if blank and blank_lines == "error":
            raise blank_line_error(path, table.lines[blank[0]])
        if blank:
            skip = set(blank)
            stats = {**table.stats, "empty_rows_skipped": len(blank)}
            table = table.subset([i for i in range(len(table)) if i not in skip])
            table.stats = stats
    else:
        _check_texts(table)
    if not len(table):
        raise DataError("contains no rows", file=path)
    return table


def blank_line_error(path: str | Path, line: int) -> DataError:
    """The error for an empty or whitespace-only line of a plain-text predict input."""
    return DataError("is empty or only whitespace", file=path, line=line,
                     hint="remove the line: each output row must be its input line")


def detect_format(path: Path, require_labels: bool = True) -> str:
    """The format from the extension, and JRTE from the shape of the first line. A file with
    no extension is TSV (JRTE when it looks like it) for training and plain text otherwise;
    an unknown extension is plain text for reading texts and an error for training."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt":
        return "txt"
    if suffix in (".tsv", ".tab") or (suffix == "" and require_labels):
        return "jrte" if _looks_like_jrte(path) else "tsv"
    if suffix == "":
        return "jrte" if _looks_like_jrte(path) else "txt"
    if not require_labels:
        return "txt"
    raise DataError(
        f"cannot tell the format from the extension '{suffix}'",
        file=path,
        hint="name the file .csv/.tsv/.jsonl/.txt or pass --format",
    )


def _looks_like_jrte(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline().rstrip("\r\n").split("\t")
    except (OSError, UnicodeDecodeError):
        return False
    if len(first) == 7 and _jrte_task(first[0]) in JRTE_PAIR_TASKS:
        return first[1] in JRTE_TASKS["rte"]
    return (len(first) == 5 and first[1] in JRTE_LABELS
            and first[3].strip().startswith(("{", "[", "null")))


def decode_file(path: Path, encoding: str | None = None) -> str:
    """The file's text: UTF-8 (a UTF-8 BOM dropped), UTF-16/32 when it starts with their BOM,
    or ``encoding``. Raises DataError for a missing, unreadable or undecodable file (naming
    the line of the first bad byte and, when the bytes are CP932 as Excel on Japanese Windows
    writes them, how to read them) and for NUL characters."""
    if path.is_dir():
        raise DataError("is a directory, not a data file", file=path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", file=path) from None
    except OSError as exc:
        raise DataError(f"cannot be read ({exc.strerror or exc})", file=path) from None
    if encoding:
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise DataError(f"unknown encoding '{encoding}'", file=path,
                            hint="e.g. --encoding cp932, euc-jp, utf-16 or utf-8") from None
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise DataError(f"is not valid {encoding} (byte 0x{raw[exc.start]:02x})", file=path,
                            line=line, hint="pass the file's real --encoding") from None
        text = text.removeprefix("\ufeff")
    else:
        text = _decode_default(path, raw)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise DataError("contains a NUL character (a binary file, or UTF-16 without a BOM?)",
                        file=path, line=line, hint="save it as UTF-8 text, or pass --encoding")
    return text


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))


def _decode_default(path: Path, raw: bytes) -> str:
    codec = next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        if codec != "utf-8-sig" and codec != "utf-8":
            raise DataError(f"is not valid {codec.upper()} despite its byte-order mark",
                            file=path, line=line) from None
        problem = f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        if exc.end == len(raw) and "unexpected end" in exc.reason:
            raise DataError("ends in the middle of a UTF-8 character (is the file truncated?)",
                            file=path, line=line) from None
    try:
        raw.decode("cp932")
    except UnicodeDecodeError:
        raise DataError(problem, file=path, line=line,
                        hint="pass the file's --encoding (e.g. cp932, euc-jp, utf-16), or "
                             "convert it to UTF-8 first") from None
    raise DataError(
        f"{problem}: it reads as CP932 (Shift_JIS as Excel on Japanese Windows saves it)",
        file=path, line=line,
        hint="pass --encoding cp932 (Python: encoding=\"cp932\"), or convert it first: "
             f"`iconv -f CP932 -t UTF-8 {path.name} > utf8-{path.name}`",
    ) from None


def physical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) for every line: split at LF only (a text may hold other line
    separators such as U+2028), a CR before the LF dropped, no empty line after a final LF."""
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()
    return [(n, line.removesuffix("\r")) for n, line in enumerate(pieces, start=1)]


def _refuse_tab_table(path: Path, lines: list[tuple[int, str]]) -> None:
    """A file read as plain text that is really a tab-separated table with a header (Excel's
    "Text (Tab delimited)" export saved as .txt): reading it as texts would predict its header
    and glue each label to its text."""
    rows = [line.split("\t") for _, line in lines if line.strip()]
    if len(rows) < 2 or len(rows[0]) < 2 or len({len(r) for r in rows}) != 1:
        return
    header = [cell.strip().lower() for cell in rows[0]]
    if any(name in header for name in TEXT_COLUMNS):
        raise DataError(
            f"looks like a tab-separated table with a header ({', '.join(rows[0])}), not one "
            "text per line",
            file=path, line=1, hint="pass --format tsv to read its text column",
        )


def _read_delimited(path: Path, text: str, lines: list[tuple[int, str]], fmt: str,
                    stats: dict[str, object],
                    numbers: Sequence[int] | None = None) -> list[tuple[int, dict]]:
    """Records of a CSV (RFC 4180 quoting, parsed strictly) or TSV file. TSV is read as plain
    tab-separated lines, unless the whole file parses strictly as quoted TSV (as Python's
    csv writer, pandas and spreadsheets write it) and reads differently that way: then quoted,
    except where a quoted cell would span lines that plain TSV reads as rows of their own —
    that file is ambiguous and refused."""
    if not any(line.strip() for _, line in lines):
        raise DataError("is empty", file=path)
    if fmt == "csv":
        try:
            rows = _csv_rows(text, ",", numbers)
        except _CsvProblem as problem:
            raise problem.error(path, ",") from None
        return _records(path, rows, fmt, stats)
    plain_rows = [(n, line.split("\t")) for n, line in lines]
    plain_stats: dict[str, object] = {}
    try:
        plain = _records(path, plain_rows, fmt, plain_stats)
    except DataError as exc:
        plain, plain_error = None, exc
    quoted = None
    if '"' in text:
        quoted_stats: dict[str, object] = {}
        try:
            quoted = _records(path, _csv_rows(text, "\t", numbers), fmt, quoted_stats)
        except (_CsvProblem, DataError):
            quoted = None
    if quoted is not None and quoted != plain:
        spans = [n for n, record in quoted if any("\n" in str(v) for v in record.values())]
        if plain is not None and spans:
            raise DataError(
                "is ambiguous: a quote character opens a cell here that spans several lines "
                "as quoted TSV, while as plain TSV each line is a row of its own",
                file=path, line=spans[0],
                hint="save the file with every cell quoted, or without quote characters "
                     "at the start of a cell",
            )
        if plain is not None:
            changed = [n for (n, a), (_, b) in zip(quoted, plain, strict=False) if a != b]
            warn_data(f"read as quoted TSV: the quote characters around cells on line(s) "
                      f"{_lines(changed)} were taken as quoting, as spreadsheets and csv "
                      "writers write it", file=path)
        stats.update(quoted_stats)
        return quoted
    if plain is None:
        raise plain_error
    stats.update(plain_stats)
    return plain


class _CsvProblem(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message

    def error(self, path: Path, delimiter: str) -> DataError:
        if "unexpected end of data" in self.message or "EOF" in self.message:
            return DataError("a quoted cell that starts here is never closed", file=path,
                             line=self.line, hint='close the quote, or double a quote inside '
                             'a cell ("")')
        name = "comma" if delimiter == "," else "tab"
        return DataError(
            f"cannot be read exactly: {self.message}", file=path, line=self.line,
            hint=f'a quoted cell must be quoted as a whole ("…") and end at a {name}, with '
                 'quotes inside it doubled ("")',
        )


def _csv_rows(text: str, delimiter: str,
              numbers: Sequence[int] | None = None) -> list[tuple[int, list[str]]]:
    """(first line, cells) of each record, parsed strictly by the standard csv module;
    ``numbers`` maps the text's own line n (1-based) to ``numbers[n - 1]`` (a chunk of a file,
    :mod:`kanjo.data.stream`)."""
    rows = list(iter_csv_rows(io.StringIO(text, newline=""), delimiter))
    if numbers is not None:
        rows = [(numbers[n - 1], row) for n, row in rows]
    return rows


def iter_csv_rows(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each record of ``lines`` (as a file opened with ``newline=""``
    yields them), parsed strictly by the standard csv module; raises :class:`_CsvProblem`
    naming the line where a record cannot be read."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _CsvProblem(start, str(exc)) from None
        yield start, row
        start = reader.line_num + 1


def _records(path: Path, rows: list[tuple[int, list[str]]], fmt: str,
             stats: dict[str, object]) -> list[tuple[int, dict]]:
    """Header + rows → records. Rows without any content are skipped (counted); columns with
    an empty header name are ignored when they hold nothing (Excel's trailing ``,,,``); a row
    equal to the header (concatenated exports) is skipped with a warning naming its lines."""
    hollow = [n for n, row in rows if len(row) > 1 and not any(cell.strip() for cell in row)]
    rows = [(n, row) for n, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError("is empty", file=path)
    first_line, header_row = rows[0]
    header = [cell.strip().removeprefix("\ufeff") for cell in header_row]
    named = [name for name in header if name]
    if len(set(named)) != len(named):
        raise DataError(f"the header repeats a column name: {named}", file=path, line=first_line)
    if not named:
        raise DataError("has no header", file=path, line=first_line)
    keep = [i for i, name in enumerate(header) if name]
    records, repeats = [], []
    for number, row in rows[1:]:
        if [cell.strip() for cell in row[: len(header)]] == header and all(
                not cell.strip() for cell in row[len(header):]):
            repeats.append(number)
            continue
        if len(row) != len(header):
            extra = row[len(header):] if len(row) > len(header) else []
            missing = range(len(row), len(header))
            if any(cell.strip() for cell in extra) or any(header[i] for i in missing):
                raise DataError(
                    f"has {len(row)} fields but the header has {len(header)}",
                    file=path,
                    line=number,
                    hint="quote fields that contain the delimiter"
                    if fmt == "csv" else "check for stray tabs",
                )
            row = (row + [""] * len(header))[: len(header)]
        for i, name in enumerate(header):
            if not name and row[i].strip():
                raise DataError(
                    f"has a value ({row[i].strip()[:20]!r}) in column {i + 1}, which has no "
                    "name in the header", file=path, line=number,
                    hint="name the column in the header, or delete the value")
        records.append((number, {header[i]: row[i] for i in keep}))
    if repeats:
        stats["header_repeats"] = repeats
        where = f"line {repeats[0]}" if len(repeats) == 1 else f"lines {_lines(repeats)}"
        warn_data(f"{where} repeat(s) the header ({','.join(named)}) (concatenated files?) "
                  "and was skipped", file=path)
    hollow = [n for n in hollow if n > first_line]
    if hollow:
        stats["empty_rows_skipped"] = len(hollow)
        warn_data(f"{len(hollow)} row(s) with only empty cells (line(s) {_lines(hollow)}) were "
                  "skipped", file=path)
    return records


def _lines(numbers: Sequence[int], most: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:most])
    return shown + (f" … ({len(numbers)} in all)" if len(numbers) > most else "")


def _read_jsonl(path: Path, text: str, lines: list[tuple[int, str]]) -> list[tuple[int, dict]]:
    if text.lstrip().startswith("["):
        raise DataError("is a JSON array; kanjo reads JSON Lines", file=path, line=1,
                        hint='write one object per line: {"text": "...", "label": "..."}')
    records = []
    for number, line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"is not valid JSON ({exc.msg}, column {exc.colno})", file=path,
                            line=number) from None
        if not isinstance(value, dict):
            raise DataError(
                f"is a JSON {type(value).__name__}, not an object",
                file=path,
                line=number,
                hint='each line must look like {"text": "...", "label": "..."}',
            )
        records.append((number, value))
    return records


def _pick(columns: Sequence[str], wanted: str | None, candidates: Sequence[str], role: str,
          path: Path, required: bool) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(
                f"has no {role} column '{wanted}'",
                file=path,
                hint=f"columns found: {', '.join(columns)}",
            )
        return wanted
    for name in candidates:
        if name in columns:
            return name
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    if required:
        option = f"--{role}-column"
        raise DataError(
            f"has no {role} column (looked for {', '.join(candidates)})",
            file=path,
            hint=f"columns found: {', '.join(columns)}; name one with {option}",
        )
    return None


def _cell(value: object) -> str | None:
    """A cell as a string, or None when it is missing (empty, NaN, null)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        raise TypeError(type(value).__name__)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    return None if text.strip().lower() in _MISSING else text


def _from_records(path: Path, fmt: str, records: list[tuple[int, dict]], text_column: str | None,
                  label_column: str | None, split_column: str | None, soft_column: str | None,
                  require_labels: bool, text_pair_column: str | None = None,
                  task: str | None = None) -> Table:
    if not records:
        raise DataError("contains no rows", file=path)
    columns = list(dict.fromkeys(k for _, record in records for k in record))
    text_col, pair_col = _pair_columns(columns, text_column, text_pair_column, path)
    label_col = split_col = soft_col = None
    if require_labels:  # texts alone (predict, pretrain) do not depend on the other cells
        label_col = _pick(columns, label_column, LABEL_COLUMNS, "label", path, True)
        split_col = _pick(columns, split_column, SPLIT_COLUMNS, "split", path, False)
        soft_col = _pick(columns, soft_column, SOFT_COLUMNS, "soft-label", path, False)
    table = Table(path, fmt, [], [], columns={"text": text_col})
    if pair_col:
        table.text_pairs, table.columns["text_pair"] = [], pair_col
    if label_col:
        table.labels, table.columns["label"] = [], label_col
    if split_col:
        table.splits, table.columns["split"] = [], split_col
    if soft_col:
        table.soft, table.columns["soft"] = [], soft_col
    for number, record in records:
        raw_text = record.get(text_col)
        if raw_text is not None and not isinstance(raw_text, str):
            raise DataError(f"the text is a {type(raw_text).__name__}, not a string",
                            file=path, line=number)
        table.texts.append(raw_text or "")
        table.lines.append(number)
        if pair_col:
            raw_pair = record.get(pair_col)
            if raw_pair is None or raw_pair == "":
                raise DataError(f"the second text ('{pair_col}') is missing", file=path,
                                line=number)
            if not isinstance(raw_pair, str):
                raise DataError(f"the second text ('{pair_col}') is a "
                                f"{type(raw_pair).__name__}, not a string", file=path,
                                line=number)
            table.text_pairs.append(raw_pair)
        if label_col:
            try:
                value = record.get(label_col)
                # a JSON list (JSONL, a DataFrame of lists) keeps its JSON text, as a CSV cell
                # holds it: kanjo.data.label_sets reads both the same way
                label = json.dumps(value, ensure_ascii=False) if isinstance(value, list) \
                    else _cell(value)
            except TypeError as exc:
                raise DataError(f"the label ('{label_col}') is a JSON {exc}, not a name",
                                file=path, line=number) from None
            if label is None:
                raise DataError(f"the label ('{label_col}') is missing or NaN", file=path,
                                line=number, hint=_MISSING_LABEL_HINTS.get(
                                    task, _MISSING_LABEL_HINTS[None]))
            table.labels.append(label)
        if split_col:
            try:
                split = _cell(record.get(split_col))
            except TypeError:
                split = None
            if split is None:
                raise DataError(f"the split ('{split_col}') is empty", file=path, line=number)
            table.splits.append(split.strip().lower())
        if soft_col:
            table.soft.append(_parse_soft(record.get(soft_col), path, number))
    return table


_MISSING_LABEL_HINTS = {
    None: "fill it in or remove the row (with --task multi-label, [] is a row with no label)",
    "classification": "fill it in or remove the row",
    "regression": "fill in the row's number or remove the row",
    "multi-label": "fill it in: [] is a row with no label",
}


def _pair_columns(columns: Sequence[str], text_column: str | None, pair_column: str | None,
                  path: Path) -> tuple[str, str | None]:
    """(text column, pair column or None): the named columns, else a pair of
    :data:`PAIR_COLUMNS` whose first member is the text column (or, with no text column named,
    the first pair the file has both columns of), else the single text column."""
    if pair_column is not None:
        _pick(columns, pair_column, (), "text-pair", path, True)  # a named column must exist
    if text_column is None:
        for first, second in PAIR_COLUMNS:
            if first in columns and (pair_column is not None or second in columns):
                text_column = first
                break
    if text_column is None and _pick(columns, None, TEXT_COLUMNS, "text", path, False) is None:
        for first, second in PAIR_COLUMNS:  # half a pair: say so, not "no text column"
            if first in columns:
                raise DataError(f"has the pair column '{first}' but not its partner '{second}'",
                                file=path,
                                hint=f"columns found: {', '.join(columns)}; add '{second}', "
                                     f"name the second text with --text-pair-column, or read "
                                     f"single texts with --text-column {first}")
    text_col = _pick(columns, text_column, TEXT_COLUMNS, "text", path, True)
    if pair_column is None:
        partner = dict(PAIR_COLUMNS).get(text_col)
        pair_column = partner if partner in columns else None
        if pair_column is None:
            return text_col, None
    pair_col = _pick(columns, pair_column, (), "text-pair", path, True)
    if pair_col == text_col:
        raise DataError(f"the text and its pair are the same column '{text_col}'", file=path)
    return text_col, pair_col


def _parse_soft(value: object, path: Path, line: int) -> dict[str, float]:
    """A per-row label distribution: a JSON object {label: weight} (counts or probabilities)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError("the soft-label column is not a JSON object", file=path,
                            line=line) from None
    if not isinstance(value, dict) or not value:
        raise DataError("the soft labels must be a non-empty JSON object like "
                        '{"positive": 3, "neutral": 1}', file=path, line=line)
    out = {}
    for key, weight in value.items():
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0 \
                or math.isnan(weight):
            raise DataError(f"soft label weight for '{key}' must be a number ≥ 0", file=path,
                            line=line)
        out[str(key)] = float(weight)
    if sum(out.values()) <= 0:
        raise DataError("the soft label weights sum to 0", file=path, line=line)
    return out


def _read_jrte(path: Path, lines: list[tuple[int, str]]) -> Table:
    """A JRTE classification file (pn: sentiment, rhr: hotel reputation): headerless TSV of
    id, label, text, judges JSON, usage; or the entailment file (rte, ids ``rte…``): id, label,
    hypothesis, premise, judges, reasoning, usage, read as (premise, hypothesis) pairs.
    Judges are vote counts; rows asked more than once hold a list of them (summed); a row
    without votes (null) counts as one vote for its label."""
    task = _jrte_task(lines[0][1].split("\t", 1)[0]) if lines else "pn"
    names = JRTE_TASKS[task]
    pairs = task in JRTE_PAIR_TASKS
    table = Table(path, "jrte", [], [], labels=[], soft=[], splits=[],
                  label_names=tuple(names.values()), text_pairs=[] if pairs else None)
    layout = ((7, "id, label, hypothesis, premise, judges, reasoning, usage") if pairs
              else (5, "id, label, text, judges, usage"))
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) != layout[0]:
            raise DataError(
                f"has {len(fields)} tab-separated fields, the JRTE {task} format has "
                f"{layout[0]} ({layout[1]})",
                file=path,
                line=number,
            )
        if pairs:  # the premise first, as NLI models read (premise, hypothesis)
            _, label, hypothesis, text, judges, _, usage = fields
            table.text_pairs.append(hypothesis)
        else:
            _, label, text, judges, usage = fields
        if label not in names:
            *first, last = names
            raise DataError(f"label '{label}' is not {', '.join(first)} or {last} (JRTE {task})",
                            file=path, line=number)
        soft = _jrte_votes(judges, path, number) or {label: 1.0}
        unknown = set(soft) - set(names)
        if unknown:
            raise DataError(f"judges name unknown labels {sorted(unknown)}", file=path,
                            line=number)
        table.texts.append(text)
        table.lines.append(number)
        table.labels.append(names[label])
        table.soft.append({names[k]: v for k, v in soft.items()})
        table.splits.append(usage.strip().lower())
    return table


def _jrte_task(row_id: str) -> str:
    """The task of a JRTE file from its first id's letters (``pn…`` → pn, ``rhr…`` → rhr,
    ``rteC30…`` → rte)."""
    letters = re.match(r"[a-z]*", row_id.strip().lower()).group()
    return next((task for task in JRTE_TASKS if letters.startswith(task)), "pn")


def _jrte_votes(judges: str, path: Path, line: int) -> dict[str, float] | None:
    """The judges cell as one label distribution (a list of vote rounds summed), or None for
    null; each round is checked like any soft-label cell."""
    try:
        value = json.loads(judges)
    except json.JSONDecodeError:
        raise DataError("the judges column is not JSON", file=path, line=line) from None
    if value is None:
        return None
    summed: dict[str, float] = {}
    for votes in value if isinstance(value, list) and value else [value]:
        for key, count in _parse_soft(votes, path, line).items():
            summed[key] = summed.get(key, 0.0) + count
    return summed


def _check_texts(table: Table) -> None:
    for i, text in enumerate(table.texts):
        if not text.strip():
            raise table.error(i, "the text is empty or only whitespace",
                              hint="remove the row or fill in its text")
    for i, text in enumerate(table.text_pairs or ()):
        if not text.strip():
            raise table.error(i, "the second text of the pair is empty or only whitespace",
                              hint="remove the row or fill in its text")
