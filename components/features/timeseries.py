"""Time series (sensor series): reading a cell, per-channel train moments, padding to a fixed length.

A cell is a sequence of numbers (one channel) or of vectors (one value per channel), of any length:
a Python/numpy sequence (a Parquet list column reads as one), or the same as a JSON array in a CSV
cell ("[1, 2.5, null]", "[[0.1, 3], [0.2, 2.9]]"). `null`/NaN is a missing value; an empty or missing
cell is a series of no steps.

What a model reads is `[max_length, channels]` float32 with NaN wherever there is no value: missing
values and the padding after the series' end alike. The library's timeseries blocks turn that into
values (NaN → 0 after scaling) and a step mask (a step is kept when any channel has a value), inside
the model, so an exported model takes raw padded arrays (`padded`); `filled` is the same in numpy.
Longer series are cropped to their first `max_length` steps.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Sequence

import numpy as np
import pandas as pd

from components.features.numerical import MAX_ABS, MeanVariance

MAX_LENGTH_CAP = 1024  # a proposed max_length beyond this costs more memory than a draft should pick
MIN_LENGTH = 8


class SeriesProblem(ValueError):
    """A cell cannot be read as a series; the message says why (the caller names the row and column)."""


def parse_series(value, channels: int | None = None) -> np.ndarray:
    """One cell as float64 `[steps, channels]` (NaN where a value is missing).

    Args:
        value: a sequence of numbers or of equal-length vectors, a JSON array of those, or a missing
            value / empty string (no steps).
        channels: the channels a vector must have (None: whatever the cell has; a sequence of numbers
            has one).

    Raises:
        SeriesProblem: not a JSON array, a non-number inside, ragged vectors, or the wrong channel count.
    """
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return np.zeros((0, channels or 1))
        try:
            value = json.loads(text)
        except ValueError:
            raise SeriesProblem(f"cannot read {_preview(text)} as a JSON array of numbers") from None
        if not isinstance(value, list):
            raise SeriesProblem(f"{_preview(text)} is not a JSON array; write a series as [1.0, 2.0, ...]")
    elif value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return np.zeros((0, channels or 1))
    elif np.ndim(value) == 0:
        raise SeriesProblem(f"a single value {_preview(str(value))} is not a series; write it as [value]")
    steps = [np.asarray(step, dtype=object) if isinstance(step, (list, tuple, np.ndarray)) else step for step in value]
    if not steps:
        return np.zeros((0, channels or 1))
    vectors = [isinstance(step, np.ndarray) for step in steps]
    if any(vectors) and not all(vectors):
        raise SeriesProblem("mixes numbers and vectors; give every step as a number or every step as a vector")
    widths = {len(step) for step in steps} if all(vectors) else {1}
    if len(widths) > 1:
        raise SeriesProblem(f"its vectors have different lengths {sorted(widths)}; give each step every channel")
    width = widths.pop()
    if channels is not None and width != channels:
        raise SeriesProblem(f"has {width} channel(s) per step where {channels} are expected (channels)")
    try:
        series = pd.to_numeric(pd.Series(np.ravel(np.array(steps, dtype=object)))).to_numpy(dtype="float64", copy=True)
    except (TypeError, ValueError):
        raise SeriesProblem("holds a value that is not a number (use null for a missing one)") from None
    series[~np.isfinite(series) | (np.abs(np.nan_to_num(series)) > MAX_ABS)] = np.nan
    return series.reshape(len(steps), width)


def _preview(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


class ChannelMoments:
    """Streaming per-channel mean/std of the training series' values, and their lengths.

    Args:
        channels: the contract's channel count (None: learned from the first non-empty cell).
    """

    def __init__(self, channels: int | None = None) -> None:
        self.channels = channels
        self.moments: list[MeanVariance] = []
        self.lengths: Counter = Counter()
        self.rows, self.empty = 0, 0

    def update(self, values: pd.Series) -> None:
        for value in values.astype(object):
            self.add(parse_series(value, self.channels))

    def add(self, series: np.ndarray) -> None:
        self.rows += 1
        self.lengths[len(series)] += 1
        if not len(series):
            self.empty += 1
            return
        if self.channels is None:
            self.channels = series.shape[1]
        if series.shape[1] != self.channels:
            raise SeriesProblem(f"has {series.shape[1]} channel(s) per step, earlier rows have {self.channels}")
        if not self.moments:
            self.moments = [MeanVariance() for _ in range(self.channels)]
        for channel, stats in enumerate(self.moments):
            stats.add(series[:, channel])

    def finalize(self) -> dict:
        fitted = [stats.finalize() for stats in self.moments] or [MeanVariance().finalize()]
        return {
            "channels": self.channels or 1,
            "mean": [f["mean"] for f in fitted],
            "std": [f["std"] for f in fitted],
            "missing_values": sum(f["missing"] for f in fitted),
            "rows": self.rows,
            "empty": self.empty,
            "length_p95": proposed_length(self.lengths),
            "longest": max(self.lengths, default=0),
        }

    @classmethod
    def merge(cls, parts: Sequence[ChannelMoments]) -> ChannelMoments:
        """Each channel's moments, the lengths and the row tallies of the parts together.

        Raises:
            SeriesProblem: two parts' series have different channel counts.
        """
        widths = {p.channels for p in parts if p.moments}
        if len(widths) > 1:
            raise SeriesProblem(f"has {max(widths)} channel(s) per step in some rows, {min(widths)} in others")
        out = cls.__new__(cls)
        out.__dict__.update(parts[0].__dict__)  # a subclass's own settings and tallies (`_merge_more` adds the rest)
        with_moments = [p.moments for p in parts if p.moments]
        out.channels = widths.pop() if widths else parts[0].channels
        out.moments = [MeanVariance.merge(list(c)) for c in zip(*with_moments)] if with_moments else []
        out.lengths = sum((p.lengths for p in parts), Counter())
        out.rows, out.empty = sum(p.rows for p in parts), sum(p.empty for p in parts)
        out._merge_more(parts)
        return out

    def _merge_more(self, parts: Sequence[ChannelMoments]) -> None:
        """What a subclass tallies besides (its parts' own counters)."""


def proposed_length(lengths: Counter, cap: int = MAX_LENGTH_CAP) -> int:
    """A `max_length` for series of these lengths ({length: rows}): the 95th percentile, within
    [MIN_LENGTH, cap], so a few very long series do not pad every other one."""
    if not lengths:
        return MIN_LENGTH
    values = np.array(sorted(lengths), dtype="float64")
    weights = np.array([lengths[v] for v in sorted(lengths)], dtype="float64")
    rank = np.searchsorted(np.cumsum(weights), 0.95 * weights.sum())
    return int(np.clip(values[min(rank, len(values) - 1)], MIN_LENGTH, cap))


def padded(series: list[np.ndarray], max_length: int, channels: int,
           mean: list[float] | None = None, std: list[float] | None = None) -> np.ndarray:  # fmt: skip
    """Series → float32 `[N, max_length, channels]`: standardised with `mean`/`std` when given, cropped
    to the first `max_length` steps, NaN after each series' end and where a value is missing."""
    out = np.full((len(series), max_length, channels), np.nan, dtype="float64")
    for row, one in enumerate(series):
        steps = one[:max_length]
        out[row, : len(steps)] = steps
    if mean is not None and std is not None:
        out = (out - np.asarray(mean)) / np.asarray(std)
    return out.astype("float32")


def filled(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Padded `[N, T, C]` (NaN where no value) → (values with NaN as 0, step mask `[N, T]`: a step is
    kept when any of its channels has a value). What the library's blocks do inside the model."""
    present = np.isfinite(values)
    return np.where(present, values, 0.0).astype("float32"), present.any(axis=-1)


def series_stats(values: np.ndarray) -> dict:
    """Per-channel mean and std of padded `[N, T, C]` series (NaN where no value): what the library's
    timeseries blocks standardise with, the same moments preprocessing fits (`ChannelMoments`)."""
    fitted = []
    for channel in range(values.shape[-1]):
        stats = MeanVariance()
        stats.add(values[..., channel].reshape(-1).astype("float64"))
        fitted.append(stats.finalize())
    return {"mean": [f["mean"] for f in fitted], "std": [f["std"] for f in fitted]}


SUMMARY = ("mean", "std", "min", "max", "first", "last")


def summary_features(cells, channels: int | None = None) -> np.ndarray:
    """What a classical model reads from a column of series: float64 `[N, 6 * C + 1]`, per channel the
    mean, std, min, max, first and last value (NaN when the channel has none) then the length. A cell
    that cannot be read counts as empty (the network's transform refuses it by row).

    Args:
        cells: the column's raw cells.
        channels: values per step (None: the first readable non-empty cell's).
    """
    series = []
    for cell in cells:
        try:
            series.append(parse_series(cell, channels))
        except SeriesProblem:
            series.append(None)
        if channels is None and series[-1] is not None and len(series[-1]):
            channels = series[-1].shape[1]
    channels = channels or 1
    out = np.full((len(series), len(SUMMARY) * channels + 1), np.nan)
    for row, one in enumerate(series):
        if one is None or one.shape[1] != channels:
            continue
        out[row, -1] = len(one)
        for channel in range(channels):
            values = one[:, channel][np.isfinite(one[:, channel])]
            if len(values):
                stats = (values.mean(), values.std(), values.min(), values.max(), values[0], values[-1])
                out[row, channel * len(SUMMARY) : (channel + 1) * len(SUMMARY)] = stats
    return out


def series_json(cell):
    """A cell as the JSON array a caller of the served model sends (a string, or None when missing);
    a string stays as it is, so an unreadable one is still refused by row."""
    if isinstance(cell, str):
        return cell
    if cell is None or (np.ndim(cell) == 0 and pd.isna(cell)):
        return None
    try:
        series = parse_series(cell)
    except SeriesProblem:
        return str(cell)
    rows = [[None if np.isnan(v) else float(v) for v in step] for step in series]
    return json.dumps([step[0] for step in rows] if series.shape[1] == 1 else rows)
