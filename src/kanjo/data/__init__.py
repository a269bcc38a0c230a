"""Data: readers for labelled text tables, the label set, and train/dev splits."""

from kanjo.data.labels import LabelSet
from kanjo.data.readers import Table, read_table, read_texts
from kanjo.data.splits import train_dev_split

__all__ = ["LabelSet", "Table", "read_table", "read_texts", "train_dev_split"]
