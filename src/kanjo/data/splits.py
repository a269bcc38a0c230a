"""Train/dev splits: a separate dev file, the split/usage column, or a seeded stratified split."""

from __future__ import annotations

import numpy as np

from kanjo.data.readers import Table
from kanjo.errors import ConfigError, DataError


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
    labels = ids[train]
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    n_dev = max(int(round(dev_fraction * len(train))), len(counts[counts > 0]))
    if n_dev >= len(train):
        raise DataError(f"has too few rows ({len(train)}) to hold out a dev split",
                        file=table.path, hint="pass --dev FILE")
    from sklearn.model_selection import train_test_split  # lazy: keeps `kanjo predict` fast

    tr, dv = train_test_split(train, test_size=n_dev, random_state=seed, stratify=stratify)
    return np.sort(tr), np.sort(dv)
