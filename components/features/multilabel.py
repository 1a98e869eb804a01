"""Multi-label targets: the label vocabulary, label sets as multi-hot rows, and the decision rule.

The library reads label lists given to `fit`; preprocessing reads a contract's label cells (separator,
list literal); both then count, encode and decide with the functions here, so a model trained either
way answers the same label sets for the same outputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from components.features.common import merged_counts, prune, ranked

DEFAULT_THRESHOLD = 0.5  # a label's threshold until one is tuned on validation rows


class LabelCounts:
    """How often each label occurs on the training rows, streamed; `finalize` keeps the labels.

    Args:
        max_labels: keep the most frequent ones only (None: all).
        read: raw values → one label list (or None for an empty cell) per row, for `update`.
    """

    def __init__(self, max_labels: int | None = None, read: Callable[[pd.Series], list] | None = None) -> None:
        self.max_labels, self.read = max_labels, read
        self.counts: Counter = Counter()
        self.rows = 0

    def update(self, values: pd.Series) -> None:
        self.add(self.read(values))

    def add(self, label_lists: Iterable) -> None:
        for labels in label_lists:
            self.rows += labels is not None
            self.counts.update({str(label) for label in (labels if labels is not None else [])})
        prune(self.counts, 100_000)

    def finalize(self) -> dict:
        kept = sorted(ranked(self.counts, self.max_labels))
        return {"labels": kept, "counts": {label: self.counts[label] for label in kept}, "rows": self.rows}

    @classmethod
    def merge(cls, parts: Sequence[LabelCounts]) -> LabelCounts:
        """The parts' label counts and labelled rows summed."""
        out = cls(parts[0].max_labels, parts[0].read)
        out.counts = merged_counts([p.counts for p in parts], 100_000)
        out.rows = sum(p.rows for p in parts)
        return out


def multi_hot(label_lists: Iterable, labels: list[str]) -> tuple[np.ndarray, Counter]:
    """Label lists (None: the empty set) → float32 multi-hot rows over `labels`, and how often each
    label outside `labels` occurred (such labels are dropped: the model cannot answer them)."""
    index = {label: i for i, label in enumerate(labels)}
    rows = list(label_lists)
    out = np.zeros((len(rows), len(labels)), np.float32)
    unseen: Counter = Counter()
    for row, row_labels in enumerate(rows):
        for label in row_labels if row_labels is not None else []:
            if str(label) in index:
                out[row, index[str(label)]] = 1.0
            else:
                unseen[str(label)] += 1
    return out, unseen


def decide(probabilities: np.ndarray, thresholds: list[float] | None) -> np.ndarray:
    """Per-label probabilities → a boolean row of the labels answered: each label at its threshold
    (`DEFAULT_THRESHOLD` where none is tuned)."""
    limits = np.asarray(thresholds if thresholds else [DEFAULT_THRESHOLD] * probabilities.shape[1])
    return probabilities >= limits


def label_sets(chosen: np.ndarray, labels: list) -> list[list]:
    """Boolean rows from `decide` → each row's labels, in `labels` order."""
    return [[labels[j] for j in np.flatnonzero(row)] for row in chosen]
