"""Categorical columns: reading a category, and the vocabulary of the most frequent ones on train."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import pandas as pd

from components.features.common import merged_counts, prune, ranked

OOV = "<oov>"
MAX_CATEGORIES = 50  # one-hot slots per column, the most frequent categories on train; the rest share one


def category_strings(values: pd.Series) -> list[str | None]:
    """Categories as stripped strings; 3.0 and "3" are the same category, missing is None."""

    def one(value) -> str | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = str(value).strip()
        return text or None

    return [one(v) for v in values.astype(object)]


class Frequencies:
    """How often each category occurs on the training rows, streamed; `finalize` keeps the
    `max_categories` most frequent as the vocabulary."""

    def __init__(self, max_categories: int) -> None:
        self.max_categories = max_categories
        self.counts: Counter = Counter()

    def update(self, values: pd.Series) -> None:
        self.counts.update(v for v in category_strings(values) if v is not None)
        prune(self.counts, self._limit())

    def _limit(self) -> int:
        return max(10_000, 20 * self.max_categories)

    def finalize(self) -> dict:
        return {"vocabulary": ranked(self.counts, self.max_categories), "distinct_in_train": len(self.counts)}

    @classmethod
    def merge(cls, parts: Sequence[Frequencies]) -> Frequencies:
        """The parts' category counts summed: the same vocabulary as one pass over all their rows."""
        out = cls(parts[0].max_categories)
        out.counts = merged_counts([p.counts for p in parts], out._limit())
        return out
