"""LabelSet: the ordered label names of a task, and the mapping between names and ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kanjo.data.readers import Table
from kanjo.errors import DataError


@dataclass(frozen=True)
class LabelSet:
    """Ordered, unique label names; id ``i`` is ``names[i]``."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise DataError(f"a classifier needs at least 2 labels, got {list(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise DataError(f"the labels repeat a name: {list(self.names)}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    @classmethod
    def parse(cls, text: str) -> LabelSet:
        """From ``--labels negative,neutral,positive``."""
        return cls(tuple(name.strip() for name in text.split(",") if name.strip()))

    @classmethod
    def infer(cls, table: Table) -> LabelSet:
        """The labels found in the data: the format's own order, else sorted (numerically when
        every label is an integer)."""
        if table.labels is None:
            raise DataError("has no labels", file=table.path)
        if table.label_names:
            return cls(table.label_names)
        found = sorted(set(table.labels))
        if all(_is_int(v) for v in found):
            found.sort(key=int)
        if len(found) < 2:
            raise DataError(
                f"has a single class ('{found[0]}'): a classifier needs at least two",
                file=table.path,
            )
        return cls(tuple(found))

    def encode(self, table: Table) -> np.ndarray:
        """Label ids for every row. Integer labels index into the names when they are not
        names themselves (``0/1/2`` with ``--labels negative,neutral,positive``)."""
        if table.labels is None:
            raise DataError("has no labels", file=table.path)
        lookup = self.label2id
        by_index = not any(v in lookup for v in table.labels) and all(
            _is_int(v) and 0 <= int(v) < len(self) for v in table.labels
        )
        ids = np.empty(len(table), dtype=np.int64)
        for i, value in enumerate(table.labels):
            if by_index:
                ids[i] = int(value)
            elif value in lookup:
                ids[i] = lookup[value]
            else:
                raise table.error(i, f"label '{value}' is not one of {', '.join(self.names)}",
                                  hint="fix the row, or list every label with --labels")
        return ids

    def encode_soft(self, table: Table) -> np.ndarray | None:
        """Per-row label distributions [n, k] (rows sum to 1), or None when the table has none."""
        if table.soft is None:
            return None
        lookup = self.label2id
        out = np.zeros((len(table), len(self)), dtype=np.float32)
        for i, dist in enumerate(table.soft):
            for name, weight in dist.items():
                if name not in lookup:
                    if _is_int(name) and 0 <= int(name) < len(self):
                        out[i, int(name)] += weight
                        continue
                    raise table.error(i, f"soft label '{name}' is not one of "
                                      f"{', '.join(self.names)}")
                out[i, lookup[name]] += weight
            out[i] /= out[i].sum()
        return out

    def check_classes(self, ids: np.ndarray, table: Table) -> None:
        """Training needs at least two distinct classes."""
        present = Counter(ids.tolist())
        if len(present) < 2:
            only = self.names[next(iter(present))] if present else "none"
            raise DataError(f"has a single class ('{only}'): a classifier needs at least two",
                            file=table.path)

    def counts(self, ids: Sequence[int]) -> dict[str, int]:
        counter = Counter(int(i) for i in ids)
        return {name: counter.get(i, 0) for i, name in enumerate(self.names)}


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True
