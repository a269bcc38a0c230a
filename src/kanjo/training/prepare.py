"""The rows a run trains and selects on: read, labelled and split as the config says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kanjo.config import TrainConfig
from kanjo.data import Table, read_table, train_dev_split
from kanjo.data.duplicates import overlap, report_duplicates
from kanjo.data.inputs import as_table, fingerprint
from kanjo.data.normalize import normalize_texts
from kanjo.data.pseudo_labels import add_pseudo_labels, read_pseudo_labels
from kanjo.data.targets import Targets, targets_for
from kanjo.errors import ConfigError, DataError, warn_data


@dataclass
class TrainingData:
    """The rows a run trains and selects on, with their targets: label ids [n], or for
    ``--task multi-label`` multi-hot rows [n, k] (``y_train``, ``y_dev``)."""

    labels: Targets
    train: Table
    y_train: np.ndarray
    dev: Table | None
    y_dev: np.ndarray | None
    soft_train: np.ndarray | None = None
    pseudo: dict[str, Any] | None = None
    """Where the last ``pseudo["rows"]`` training rows came from, when they are pseudo-labels."""
    dev_source: str | None = None
    """Where the dev rows came from: "file" (--dev), "split-column" or "held-out" (a seeded
    stratified --dev-split of the training file, whose line numbers kanjo.json records so that
    ``evaluate --split dev`` can score the same rows again)."""

    def describe(self) -> dict[str, Any]:
        def part(table: Table, y: np.ndarray) -> dict[str, Any]:
            return {"file": str(table.path), "sha256": fingerprint(table),
                    "rows": len(y), "label_counts": self.labels.counts(y),
                    "integrity": integrity(table)}

        gold = len(self.train) - (self.pseudo["rows"] if self.pseudo else 0)
        out = {"train": {**part(self.train, self.y_train[:gold]),
                         "soft_labels": self.soft_train is not None}}
        if self.pseudo:
            out["pseudo_labels"] = {**self.pseudo,
                                    "label_counts": self.labels.counts(self.y_train[gold:])}
        if self.dev is not None and self.y_dev is not None:
            out["dev"] = {**part(self.dev, self.y_dev), "source": self.dev_source}
            if self.dev_source == "held-out":
                out["dev"]["lines"] = list(self.dev.lines)
        return out


def prepare_data(data: Any, config: TrainConfig) -> TrainingData:
    """Read, normalise (NFKC), label and split the data as the config says; ``data`` is a file
    or anything :func:`~kanjo.data.inputs.as_table` takes (a DataFrame, (text, label) pairs,
    ...). Duplicate texts stay on one side of the split; duplicates, conflicting labels, merged
    label spellings and dev rows that are also training rows are warned about
    (:class:`~kanjo.errors.DataWarning`) and counted in each table's ``stats`` (kanjo.json
    ``data.*.integrity``)."""
    options = read_options(config)
    table = normalized(as_table(data, **options))
    labels = targets_for(config.task, table, config.labels, config.label_sep)
    ids = labels.encode(table)
    report_duplicates(table, ids)
    soft = soft_targets(labels, table, config.soft_labels)
    dev_table = normalized(read_table(config.dev, **options)) if config.dev else None
    train_idx, dev_idx = train_dev_split(table, ids, dev_table, config.dev_split, config.seed,
                                         tuple(config.train_splits))
    labels.check_classes(ids[train_idx], table)
    table.stats["rows_used"] = len(train_idx) + (len(dev_idx) if dev_idx is not None else 0)
    dev = dev_table if dev_table is not None else (
        table.subset(dev_idx) if dev_idx is not None else None)
    y_dev = labels.encode(dev) if dev is not None else None
    train, y_train = table.subset(train_idx), ids[train_idx]
    train.stats = table.stats
    if hasattr(labels, "with_range"):  # a numeric target: its range is the training rows'
        labels = labels.with_range(y_train)
    if dev is not None:
        _check_overlap(train, dev)
    soft_train = soft[train_idx] if soft is not None else None
    source = _dev_source(table, dev_table, dev_idx)
    if not config.pseudo_labels:
        return TrainingData(labels, train, y_train, dev, y_dev, soft_train, dev_source=source)
    if table.text_pairs is not None or labels.task != "classification":
        raise ConfigError("--pseudo-labels trains on predicted class probabilities of single "
                          f"texts: it does not apply to sentence pairs or to a {labels.task} "
                          "task")
    labelled = set(table.texts) | set(dev.texts if dev is not None else ())
    pseudo = read_pseudo_labels(config.pseudo_labels, labels, labelled, rows=config.pseudo_rows,
                                seed=config.seed, soft=config.soft_labels)
    train, y_train, soft_train = add_pseudo_labels(train, y_train, soft_train, pseudo)
    train.stats = table.stats
    return TrainingData(labels, train, y_train, dev, y_dev, soft_train, pseudo.info, source)


def _dev_source(table: Table, dev_table: Table | None, dev_idx: np.ndarray | None) -> str | None:
    if dev_table is not None:
        return "file"
    if dev_idx is None:
        return None
    marked = table.splits is not None and all(
        table.splits[i] in ("dev", "validation", "valid") for i in dev_idx)
    return "split-column" if marked else "held-out"


def read_options(config: TrainConfig) -> dict[str, Any]:
    """The reading options of ``config`` (format, columns, encoding, the task its hints name)
    for :func:`read_table`."""
    return dict(format=config.format, text_column=config.text_column,
                label_column=config.label_column, encoding=config.encoding,
                text_pair_column=config.text_pair_column, task=config.task)


def normalized(table: Table) -> Table:
    """``table`` with its texts (both texts of a pair) in NFKC (:mod:`kanjo.data.normalize`);
    how many rows changed goes to ``table.stats["texts_normalised"]``."""
    table.texts, changed = normalize_texts(table.texts)
    if table.text_pairs is not None:
        table.text_pairs, more = normalize_texts(table.text_pairs)
        changed += more
    if changed:
        table.stats["texts_normalised"] = changed
    return table


def integrity(table: Table) -> dict[str, Any]:
    """What kanjo.json records about reading one file: rows read, rows used (for training and
    dev; rows of a test split are not) and, when non-zero, repeated headers, skipped empty
    rows, merged label spellings, duplicates, conflicts, single-text classes, texts changed by
    NFKC and dev rows also in training."""
    return dict(table.stats)


_SUMMARY = (("header_repeats", "{} repeated header(s) skipped"),
            ("empty_rows_skipped", "{} empty row(s) skipped"),
            ("labels_merged", "{} label spelling(s) merged"),
            ("duplicates", "{} duplicate row(s)"),
            ("conflicts", "{} conflicting duplicate(s)"),
            ("single_text_classes", "{} class(es) of a single text (not in dev)"),
            ("texts_normalised", "{} text(s) changed by NFKC"),
            ("dev_rows_in_train", "{} dev row(s) also in training"))
"""The integrity figures a summary line mentions, in order; a list or mapping counts its items."""


def summary(stats: dict[str, Any]) -> str | None:
    """A one-line account of ``integrity`` when anything in it is not a plain read, else None."""
    parts = [template.format(len(value) if isinstance(value, list | dict) else value)
             for key, template in _SUMMARY if (value := stats.get(key))]
    return ", ".join(parts) or None


def _check_overlap(train: Table, dev: Table) -> None:
    same = overlap(train, dev)
    if same:
        dev.stats["dev_rows_in_train"] = len(same)
        warn_data(f"{len(same)} dev row(s) have the same text as a training row (first: line "
                  f"{dev.lines[same[0]]}): the dev score overstates", file=dev.path)


def soft_targets(labels: Targets, table: Table, mode: bool | str) -> np.ndarray | None:
    """The rows' label distributions to train on: ``True`` requires a soft-label column
    (judges, soft_labels, label_distribution or probabilities), ``"auto"`` uses one when the
    data has it, ``False`` trains on the hard labels."""
    if not mode:
        return None
    soft = labels.encode_soft(table)
    if soft is None and mode is True:
        raise DataError("has no soft-label column (judges, soft_labels, label_distribution or "
                        "probabilities) for --soft-labels", file=table.path)
    return soft
