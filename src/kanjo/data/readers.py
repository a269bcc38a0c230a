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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kanjo.errors import DataError

FORMATS = ("auto", "csv", "tsv", "jsonl", "jrte", "txt")
TEXT_COLUMNS = ("text", "sentence", "review", "content", "body")
LABEL_COLUMNS = ("label", "labels", "sentiment", "category", "class")
SPLIT_COLUMNS = ("split", "usage")
SOFT_COLUMNS = ("judges", "soft_labels", "label_distribution", "probabilities")
# The JRTE corpus' classification files share one layout; the id prefix names the task.
# label value → name, in id order (unknown prefixes read as pn, the sentiment file)
JRTE_TASKS = {
    "pn": {"-1": "negative", "0": "neutral", "1": "positive"},
    "rhr": {"0": "not_reputation", "1": "reputation"},  # is the sentence about the hotel?
}
JRTE_LABELS = JRTE_TASKS["pn"]
_MISSING = {"", "nan", "none", "null", "na", "n/a"}


@dataclass
class Table:
    """Rows of text with optional labels, per-row label distributions and split names."""

    path: Path
    format: str
    texts: list[str]
    lines: list[int]
    labels: list[str] | None = None
    soft: list[dict[str, float]] | None = None
    splits: list[str] | None = None
    label_names: tuple[str, ...] | None = None  # a format's own label order (JRTE)
    columns: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Sequence[int]) -> Table:
        """The rows at ``index`` (in that order)."""
        pick = list(index)

        def take(values: list | None) -> list | None:
            return None if values is None else [values[i] for i in pick]

        return Table(
            self.path, self.format, take(self.texts), take(self.lines), take(self.labels),
            take(self.soft), take(self.splits), self.label_names, dict(self.columns),
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
) -> Table:
    """Read a labelled (or, with ``require_labels=False``, unlabelled) text table."""
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in FORMATS[1:]:
        raise DataError(f"unknown format '{format}' (choose from {', '.join(FORMATS)})", file=path)
    lines = _read_lines(path)
    if fmt == "jrte":
        table = _read_jrte(path, lines)
    elif fmt == "txt":
        table = Table(path, fmt, [], [])
        for number, line in lines:
            table.texts.append(line)
            table.lines.append(number)
        if require_labels:
            raise DataError("a plain-text file has no labels", file=path,
                            hint="use CSV/TSV/JSONL with a label column for training")
    else:
        records = _read_jsonl(path, lines) if fmt == "jsonl" else _read_delimited(path, lines, fmt)
        table = _from_records(
            path, fmt, records, text_column, label_column, split_column, soft_column,
            require_labels,
        )
    _check_texts(table)
    if not len(table):
        raise DataError("contains no rows", file=path)
    return table


def read_texts(path: str | Path, format: str = "auto", text_column: str | None = None) -> Table:
    """Read texts only (for predict and pretrain): plain text is one text per line."""
    path = Path(path)
    fmt = format if format != "auto" else detect_format(path)
    if fmt == "tsv" and _looks_like_jrte(path):
        fmt = "jrte"
    return read_table(path, fmt, text_column=text_column, require_labels=False)


def detect_format(path: Path) -> str:
    """Guess the format from the extension, and JRTE from the shape of the first line."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt":
        return "txt"
    if suffix in (".tsv", ".tab") or suffix == "":
        return "jrte" if _looks_like_jrte(path) else "tsv"
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
    return (len(first) == 5 and first[1] in JRTE_LABELS
            and first[3].strip().startswith(("{", "[", "null")))


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) for every non-blank line; clear errors for I/O and encoding."""
    if not path.exists():
        raise DataError("file not found", file=path)
    if path.is_dir():
        raise DataError("is a directory, not a data file", file=path)
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            file=path,
            line=line,
            hint="convert it first, e.g. `iconv -f SHIFT_JIS -t UTF-8 in.csv > out.csv`",
        ) from None
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line.strip():
            out.append((number, line))
    return out


def _read_delimited(path: Path, lines: list[tuple[int, str]], fmt: str) -> list[tuple[int, dict]]:
    if not lines:
        raise DataError("is empty", file=path)
    delimiter = "," if fmt == "csv" else "\t"
    # csv needs the real text (quoted fields may span lines), so re-join and track line numbers
    first_line = lines[0][0]
    body = "\n".join(line for _, line in lines)
    reader = csv.reader(io.StringIO(body), delimiter=delimiter)
    numbers = [n for n, _ in lines]
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise DataError(f"cannot parse the header: {exc}", file=path, line=first_line) from None
    if len(set(header)) != len(header):
        raise DataError(f"the header repeats a column name: {header}", file=path, line=first_line)
    records = []
    try:
        for row in reader:
            number = numbers[min(reader.line_num - 1, len(numbers) - 1)]
            if len(row) != len(header):
                raise DataError(
                    f"has {len(row)} fields but the header has {len(header)}",
                    file=path,
                    line=number,
                    hint="quote fields that contain the delimiter"
                    if fmt == "csv" else "check for stray tabs",
                )
            records.append((number, dict(zip(header, row, strict=True))))
    except csv.Error as exc:
        number = numbers[min(reader.line_num - 1, len(numbers) - 1)]
        raise DataError(f"cannot parse the row: {exc}", file=path, line=number) from None
    return records


def _read_jsonl(path: Path, lines: list[tuple[int, str]]) -> list[tuple[int, dict]]:
    records = []
    for number, line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"is not valid JSON ({exc.msg})", file=path, line=number) from None
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
        option = "--text-column" if role == "text" else f"--{role}-column"
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
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    return None if text.strip().lower() in _MISSING else text


def _from_records(path: Path, fmt: str, records: list[tuple[int, dict]], text_column: str | None,
                  label_column: str | None, split_column: str | None, soft_column: str | None,
                  require_labels: bool) -> Table:
    if not records:
        raise DataError("contains no rows", file=path)
    columns = list(dict.fromkeys(k for _, record in records for k in record))
    text_col = _pick(columns, text_column, TEXT_COLUMNS, "text", path, True)
    label_col = _pick(columns, label_column, LABEL_COLUMNS, "label", path, require_labels)
    split_col = _pick(columns, split_column, SPLIT_COLUMNS, "split", path, False)
    soft_col = _pick(columns, soft_column, SOFT_COLUMNS, "soft-label", path, False)
    table = Table(path, fmt, [], [], columns={"text": text_col})
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
        if label_col:
            label = _cell(record.get(label_col))
            if label is None:
                raise DataError(f"the label ('{label_col}') is missing or NaN", file=path,
                                line=number)
            table.labels.append(label.strip())
        if split_col:
            split = _cell(record.get(split_col))
            if split is None:
                raise DataError(f"the split ('{split_col}') is empty", file=path, line=number)
            table.splits.append(split.strip().lower())
        if soft_col:
            table.soft.append(_parse_soft(record.get(soft_col), path, number))
    return table


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
    id, label, text, judges JSON, usage. Judges are vote counts; rows asked more than once hold
    a list of them (summed); a row without votes (null) counts as one vote for its label."""
    task = _jrte_task(lines[0][1].split("\t", 1)[0]) if lines else "pn"
    names = JRTE_TASKS[task]
    table = Table(path, "jrte", [], [], labels=[], soft=[], splits=[],
                  label_names=tuple(names.values()))
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) != 5:
            raise DataError(
                f"has {len(fields)} tab-separated fields, the JRTE format has 5 "
                "(id, label, text, judges, usage)",
                file=path,
                line=number,
            )
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
    """The task of a JRTE file from its first id's letters (``pn…`` → pn, ``rhr…`` → rhr)."""
    letters = re.match(r"[a-z]*", row_id.strip().lower()).group()
    return letters if letters in JRTE_TASKS else "pn"


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
