"""Classification targets: the classes seen on train, and how a model's outputs become a class.

A two-class head has one sigmoid unit (the second class's probability); `probabilities` makes it two
columns like any other head's, and `decide` picks a class: at the head's tuned threshold on the second
class when it has one (a rare class, `components.imbalance`), at `DEFAULT_THRESHOLD` when not, the most
probable class beyond two classes. The library's `predict` and the pipeline's served columns both
decide here.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import pandas as pd

from components.features.categorical import category_strings
from components.features.common import merged_counts, prune

DEFAULT_THRESHOLD = 0.5


class ClassCounts:
    """Rows per class on train (a class is read like a category: `category_strings`)."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def update(self, values: pd.Series) -> None:
        self.counts.update(v for v in category_strings(values) if v is not None)
        prune(self.counts, 100_000)

    def finalize(self) -> dict:
        return {"classes": sorted(self.counts), "counts": dict(sorted(self.counts.items()))}

    @classmethod
    def merge(cls, parts: Sequence[ClassCounts]) -> ClassCounts:
        """The parts' rows per class summed."""
        out = cls()
        out.counts = merged_counts([p.counts for p in parts], 100_000)
        return out


def probabilities(outputs: np.ndarray) -> np.ndarray:
    """A head's outputs → one probability column per class (one sigmoid unit: `[1 - p, p]`)."""
    outputs = outputs.reshape(len(outputs), -1)
    if outputs.shape[1] == 1:
        return np.concatenate([1 - outputs, outputs], axis=1)
    return outputs


def decide(probabilities: np.ndarray, thresholds: list[float] | None) -> np.ndarray:
    """One probability column per class → the index of the class answered, per row."""
    if probabilities.shape[1] == 2:
        threshold = thresholds[0] if thresholds else DEFAULT_THRESHOLD
        return (probabilities[:, 1].astype("float64") >= threshold).astype("int64")
    return probabilities.argmax(axis=1)
