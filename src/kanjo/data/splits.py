"""Train/dev splits: a separate dev file, the split/usage column, or a seeded stratified split."""

from __future__ import annotations

import numpy as np

from kanjo.data.duplicates import split_groups
from kanjo.data.readers import Table
from kanjo.errors import ConfigError, DataError, warn_data


def train_dev_split(
    table: Table,
    ids: np.ndarray,
    dev_table: Table | None = None,
    dev_fraction: float = 0.1,
    seed: int = 42,
    train_splits: tuple[str, ...] = ("train",),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Row indices of ``table`` for training and for dev (None when dev comes from
    ``dev_table``, or when there is no dev set). Order of preference: ``dev_table``; the split
    column's ``dev`` rows; a stratified ``dev_fraction`` of the rows (0: no dev set, train on
    all). Rows marked ``test`` are never trained on."""
    every = np.arange(len(table))
    if table.splits is not None:
        splits = np.array(table.splits)
        unknown = sorted(set(splits) - {"train", "dev", "validation", "valid", "test"})
        if unknown:
            row = int(np.flatnonzero(splits == unknown[0])[0])
            raise table.error(row, f"unknown split '{unknown[0]}' (expected train, dev or test)")
        splits = np.where(np.isin(splits, ["validation", "valid"]), "dev", splits)
        train = every[np.isin(splits, train_splits)]
        if dev_table is None and "dev" not in train_splits and (splits == "dev").any():
            return train, every[splits == "dev"]
    else:
        train = every
    if len(train) == 0:
        raise DataError(f"has no rows of split {', '.join(train_splits)} to train on",
                        file=table.path)
    if dev_table is not None or dev_fraction == 0:
        return train, None
    if not 0 < dev_fraction < 1:
        raise ConfigError(f"--dev-split must be in [0, 1), got {dev_fraction}")
    return _held_out(table, ids, train, dev_fraction, seed)


STRATA = 5
"""Quantile bins a numeric (regression) target is stratified by."""


def strata(y: np.ndarray) -> np.ndarray:
    """What a split is stratified by [n] (int64): the class ids, or for a numeric target its
    :data:`STRATA` quantile bins (fewer when values repeat)."""
    if np.issubdtype(y.dtype, np.integer):
        return y
    edges = np.unique(np.quantile(y, np.linspace(0, 1, STRATA + 1)[1:-1]))
    return np.searchsorted(edges, y, side="right").astype(np.int64)


def _held_out(table: Table, ids: np.ndarray, train: np.ndarray, dev_fraction: float,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of the rows ``train``, stratified by label over distinct texts: copies
    of a text (:func:`~kanjo.data.duplicates.duplicate_groups`) go to the same side, and a
    class with a single text stays in training (with a warning: it is never evaluated)."""
    from sklearn.model_selection import train_test_split  # lazy: keeps `kanjo predict` fast

    groups = split_groups(table.subset(train))
    first = np.unique(groups, return_index=True)[1]  # each text's first row, in group order
    if ids.ndim == 2:  # multi-hot [n, k]: --task multi-label
        return _held_out_label_sets(table, ids[train][first], train, groups, dev_fraction, seed)
    group_label = strata(ids[train])[first]
    per_class = np.bincount(group_label)
    lonely = [int(c) for c in np.flatnonzero(per_class == 1)]
    if lonely and len(lonely) == len(per_class[per_class > 0]):
        raise DataError("every class has a single text: no dev split can be held out",
                        file=table.path, hint="pass --dev FILE, or --dev-split 0 to train on all")
    if lonely:
        more = f" … ({len(lonely)} classes in all)" if len(lonely) > 8 else ""
        names = ", ".join(
            f"'{table.labels[train[first[group_label == c][0]]]}' (line "
            f"{table.lines[train[first[group_label == c][0]]]})" if table.labels else str(c)
            for c in lonely[:8]) + more
        table.stats["single_text_classes"] = len(lonely)
        warn_data(f"class {names} has a single text: it is trained on but cannot be in the dev "
                  "split, so the dev scores never measure it", file=table.path)
    pool = np.flatnonzero(~np.isin(group_label, lonely))
    n_classes = len(np.unique(group_label[pool]))
    n_dev = max(int(round(dev_fraction * len(pool))), n_classes)
    if n_dev >= len(pool):
        raise DataError(f"has too few rows ({len(train)}) to hold out a dev split",
                        file=table.path, hint="pass --dev FILE")
    _, dev_groups = train_test_split(pool, test_size=n_dev, random_state=seed,
                                     stratify=group_label[pool])
    in_dev = np.isin(groups, dev_groups)
    return np.sort(train[~in_dev]), np.sort(train[in_dev])


def _held_out_label_sets(table: Table, y: np.ndarray, train: np.ndarray, groups: np.ndarray,
                         dev_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The multi-label form of :func:`_held_out`: distinct texts (label sets ``y`` [texts, k])
    split by iterative stratification (Sechidis et al., 2011, "On the Stratification of
    Multi-label Data", as the iterative-stratification package implements it), which keeps
    each label's share — and that of the rows with no label — close on both sides."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    n_dev = max(int(round(dev_fraction * len(y))), 1)
    if n_dev >= len(y) - 1:
        raise DataError(f"has too few rows ({len(train)}) to hold out a dev split",
                        file=table.path, hint="pass --dev FILE")
    # a column for "no label" so that rows without any label are stratified too
    strata = np.column_stack([y, y.sum(axis=1) == 0]).astype(int)
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_dev, random_state=seed)
    _, dev_groups = next(splitter.split(np.zeros(len(y)), strata))
    in_dev = np.isin(groups, dev_groups)
    return np.sort(train[~in_dev]), np.sort(train[in_dev])
