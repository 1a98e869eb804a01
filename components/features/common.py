"""Counting helpers every modality and task that learns a vocabulary shares."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd


def missing_mask(values: pd.Series) -> np.ndarray:
    return pd.isna(values).to_numpy(dtype=bool)


def prune(counts: Counter, limit: int) -> None:
    """Bound a frequency counter's memory on huge vocabularies, keeping the most frequent half."""
    if len(counts) > 2 * limit:
        keep = counts.most_common(limit)
        counts.clear()
        counts.update(dict(keep))


def merged_counts(parts: list[Counter], limit: int) -> Counter:
    """The parts' counters summed, bounded like a streamed one (`prune`): the same counts as one
    counter over all the rows as long as neither was pruned (fewer than 2 * `limit` distinct values)."""
    out: Counter = Counter()
    for part in parts:
        out.update(part)
    prune(out, limit)
    return out


def ranked(counts: Counter, limit: int | None = None) -> list[str]:
    """The most frequent `limit` values, ties broken alphabetically so the same data always gives
    the same vocabulary."""
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [value for value, _ in order[:limit]]
