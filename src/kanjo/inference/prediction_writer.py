"""Prediction rows as output text: CSV, TSV or JSON Lines, the input's columns carried through.

Each output row holds the input row's columns (an ``id`` column first, then the others in input
order; a plain-text input's ``line`` and ``text``), then kanjo's prediction as the model's
decision rule (:mod:`kanjo.inference.decision_rules`) writes it: ``label``, ``score`` (the top
probability) and the class probabilities for a classifier; ``labels`` (the set) and every
label's probability for a multi-label model; ``value`` for a regression. Probabilities are a
``probabilities`` object in JSONL and a ``p_<label>`` column each in CSV/TSV, where a label set
is one JSON-list cell (as ``kanjo train`` reads it back). A prediction column whose name the
input already uses is written as ``kanjo_<name>``, so no input column is ever overwritten.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.errors import DataError, KanjoError
from kanjo.inference.decision_rules import Rule

OUTPUT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
ID_COLUMN = "id"


def output_format(output: Path) -> str:
    """The format ``output``'s extension names (csv, tsv or jsonl); an unknown one raises
    :class:`KanjoError` before any work."""
    fmt = OUTPUT_FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        raise KanjoError(f"cannot tell the output format from '{output.suffix or output.name}'",
                         file=output, hint="name the file .csv, .tsv or .jsonl")
    return fmt


class PredictionWriter:
    """Formats prediction rows for one output file.

    ``fmt``: csv, tsv or jsonl. ``columns``: the input's column names in input order (fixed by
    the first chunk for CSV/TSV output; JSONL output carries whatever keys each row has).
    ``rule``: the model's decision rule (its ``row(output, names)`` gives a prediction's
    fields); ``names``: the model's label names, the order of the probability columns.
    """

    def __init__(self, fmt: str, columns: Sequence[str], rule: Rule, names: Sequence[str],
                 source: str | Path | None = None):
        self.fmt = fmt
        self.rule = rule
        self.names = tuple(names)
        self.source = source
        ordered = [ID_COLUMN] if ID_COLUMN in columns else []
        self.columns = ordered + [c for c in columns if c != ID_COLUMN]
        taken = set(self.columns)
        fields = list(rule.row(np.zeros(len(self.names), dtype=np.float32), self.names))
        if fmt != "jsonl" and "probabilities" in fields:
            at = fields.index("probabilities")
            fields[at:at + 1] = [f"p_{n}" for n in self.names]
        self.fields = {name: f"kanjo_{name}" if name in taken else name for name in fields}

    def header(self) -> str:
        """The header line (CSV/TSV), or "" (JSONL)."""
        if self.fmt == "jsonl":
            return ""
        return self._delimited([[*self.columns, *self.fields.values()]])

    def rows(self, records: Sequence[dict[str, Any]], outputs: np.ndarray,
             lines: Sequence[int] | None = None) -> str:
        """The output text of ``records`` (the input columns per row) and the model's outputs
        for them (``Classifier.predict_outputs``: [n, k] probabilities, or [n, 1] values). A
        JSONL input row with a key the CSV/TSV header lacks raises :class:`DataError` naming
        its ``lines`` entry (it would be dropped otherwise)."""
        if self.fmt == "jsonl":
            out = []
            for record, p in zip(records, outputs, strict=True):
                row = {k: record[k] for k in self.columns if k in record}
                row.update((k, v) for k, v in record.items() if k not in row)
                row.update((self.fields[k], v) for k, v in self.rule.row(p, self.names).items())
                out.append(json.dumps(row, ensure_ascii=False) + "\n")
            return "".join(out)
        known = set(self.columns)
        table = []
        for i, (record, p) in enumerate(zip(records, outputs, strict=True)):
            extra = [k for k in record if k not in known]
            if extra:
                raise DataError(f"has column(s) {', '.join(extra)} that the first rows lack: a "
                                "CSV/TSV output has one header", file=self.source,
                                line=lines[i] if lines is not None else None,
                                hint="write the predictions as .jsonl")
            prediction = self.rule.row(p, self.names)
            flat = {f"p_{n}": v for n, v in prediction.pop("probabilities", {}).items()}
            table.append([_cell(record.get(k)) for k in self.columns]
                         + [_prediction_cell(v) for v in {**prediction, **flat}.values()])
        return self._delimited(table)

    def _delimited(self, rows: list[list[str]]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter="," if self.fmt == "csv" else "\t").writerows(rows)
        return buffer.getvalue()


def _cell(value: Any) -> str:
    """An input's JSON value as a CSV cell: strings as they are, null as empty, the rest as
    JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _prediction_cell(value: Any) -> str:
    """A prediction field as a CSV cell: a probability, score or value with 6 decimals, a
    label as it is, a label set as a JSON list."""
    return f"{value:.6f}" if isinstance(value, float) else _cell(value)
