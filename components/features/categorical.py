"""Categorical columns: reading a category, and how a column is encoded, by its cardinality on train.

The rule, one for the library and the pipeline (`encoding`): a column with at most `max_categories`
distinct training values is one-hot encoded over all of them; a column with more gets a learned
embedding over a frequency-cut vocabulary (values seen at least `min_count` times, the `max_embedded`
most frequent at most), and every other value (rare, unseen or missing) shares one bucket.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import pandas as pd

from components.features.common import merged_counts, prune, ranked

OOV = "<oov>"
MAX_CATEGORIES = 50  # one-hot up to this many training values; more: an embedding
MAX_EMBEDDED = 1000  # the embedding's vocabulary at most
MIN_COUNT = 5  # an embedded value is seen this often on train: rarer ones share the bucket
ONE_HOT, EMBEDDING = "one_hot", "embedding"


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


def encoding(
    counts: Counter,
    max_categories: int = MAX_CATEGORIES,
    max_embedded: int = MAX_EMBEDDED,
    min_count: int = MIN_COUNT,
) -> dict:
    """How a column with these training counts is encoded (the module's rule).

    Returns:
        `encoding` ("one_hot" / "embedding"), `vocabulary` (most frequent first), `distinct_in_train`
        and `bucket_share`: the share of present training values outside the vocabulary.
    """
    distinct = len(counts)
    if distinct <= max_categories:
        kind, vocabulary = ONE_HOT, ranked(counts)
    else:
        kind = EMBEDDING
        vocabulary = ranked(Counter({v: n for v, n in counts.items() if n >= min_count}), max_embedded)
    total = sum(counts.values())
    kept = sum(counts[v] for v in vocabulary)
    share = (total - kept) / total if total else 0.0
    return {"encoding": kind, "vocabulary": vocabulary, "distinct_in_train": distinct, "bucket_share": share}


def embedding_dim(size: int) -> int:
    """Width of the embedding of a vocabulary of `size` values (fastai's 1.6·n^0.56, 4 to 32)."""
    return int(min(32, max(4, round(1.6 * size**0.56))))


def bucket_note(name: str, fitted: dict) -> str:
    """What happened to a value outside the vocabulary, for the preprocessing warning (its row count follows)."""
    kept, distinct = len(fitted["vocabulary"]), fitted.get("distinct_in_train", 0)
    if fitted.get("encoding") == EMBEDDING:
        return (
            f"{name}: {distinct:,} values; {kept:,} most frequent embedded, the rest share one bucket "
            f"({fitted['bucket_share']:.0%} of train rows)"
        )
    if distinct > kept:  # a state fitted before the rule: the top `max_categories` one-hot
        return (
            f"{name}: {distinct:,} values on train; the {kept} most frequent one-hot encoded, the rest share one bucket"
        )
    return f"{name}: category not seen on train (the one-hot out-of-vocabulary bucket)"


class Frequencies:
    """How often each category occurs on the training rows, streamed; `finalize` applies `encoding`."""

    def __init__(self, max_categories: int, max_embedded: int = MAX_EMBEDDED, min_count: int = MIN_COUNT) -> None:
        self.max_categories, self.max_embedded, self.min_count = max_categories, max_embedded, min_count
        self.counts: Counter = Counter()

    def update(self, values: pd.Series) -> None:
        self.counts.update(v for v in category_strings(values) if v is not None)
        prune(self.counts, self._limit())

    def _limit(self) -> int:
        return max(10_000, 20 * max(self.max_categories, self.max_embedded))

    def finalize(self) -> dict:
        return encoding(self.counts, self.max_categories, self.max_embedded, self.min_count)

    @classmethod
    def merge(cls, parts: Sequence[Frequencies]) -> Frequencies:
        """The parts' category counts summed: the same vocabulary as one pass over all their rows."""
        first = parts[0]
        out = cls(first.max_categories, first.max_embedded, first.min_count)
        out.counts = merged_counts([p.counts for p in parts], out._limit())
        return out
