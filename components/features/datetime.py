"""Datetime: reading dates, the train years' mean and spread, and the parts a date becomes.

The library's tabular block computes the parts inside the model (from "YYYY-MM-DD" strings, so an
exported model takes raw dates); preprocessing computes them here, with numpy. Both scale the year by
the statistics `YearStats` fits on the training rows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from components.features.common import missing_mask

PARTS = ["year", "month_sin", "month_cos", "weekday_sin", "weekday_cos", "doy_sin", "doy_cos", "missing"]
DEFAULT_YEAR = 2000.0  # the year's mean when no training row has a date


def parse_dates(values: pd.Series, fmt: str | None) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Dates from strings (with `fmt`, a strftime format or "mixed"; ISO 8601 when None) or datetimes.

    Returns:
        the dates (NaT where missing, blank or unreadable) and a mask of the present values that could
        not be read.
    """
    blank = values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    present = ~missing_mask(values) & ~blank
    raw = values.astype(object).where(present, None)
    dates = pd.DatetimeIndex(pd.to_datetime(raw, format=fmt or "ISO8601", errors="coerce", utc=True)).tz_localize(None)
    return dates, np.asarray(dates.isna()) & present


def cycle(value: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray]:
    angle = 2 * np.pi * value / period
    return np.sin(angle), np.cos(angle)


def date_parts(dates: pd.DatetimeIndex, year_mean: float, year_std: float) -> np.ndarray:
    """Dates → `[rows, len(PARTS)]` float32: the scaled year, sine and cosine of month, weekday and day
    of the year, zeros where missing, and a missing flag."""
    missing = np.asarray(dates.isna())

    def part(values) -> np.ndarray:
        return np.nan_to_num(np.asarray(values, dtype=np.float64))

    columns = [np.where(missing, 0.0, (part(dates.year) - year_mean) / year_std)]
    for value, period in ((part(dates.month) - 1, 12), (part(dates.dayofweek), 7), (part(dates.dayofyear) - 1, 366)):
        sin, cos = cycle(value, period)
        columns += [np.where(missing, 0.0, sin), np.where(missing, 0.0, cos)]
    columns.append(missing.astype(np.float64))
    return np.stack(columns, axis=1).astype(np.float32)


class YearStats:
    """The train years' mean and standard deviation, streamed: `update` per batch of raw values (or
    `add` per batch of years, NaN where missing), then `finalize`."""

    def __init__(self, fmt: str | None = None) -> None:
        self.fmt = fmt
        self.count, self.total, self.total_sq, self.missing = 0, 0.0, 0.0, 0

    def update(self, values: pd.Series) -> None:
        dates, _ = parse_dates(values, self.fmt)
        self.add(dates.year.to_numpy(dtype=np.float64))

    def add(self, years: np.ndarray) -> None:
        known = years[np.isfinite(years)]
        self.missing += len(years) - len(known)
        self.count += len(known)
        # Years are small numbers, so plain sums of squares lose no precision here.
        self.total += float(known.sum())
        self.total_sq += float((known**2).sum())

    def finalize(self) -> dict:
        mean = self.total / self.count if self.count else DEFAULT_YEAR
        var = self.total_sq / self.count - mean**2 if self.count else 0.0
        std = max(var, 0.0) ** 0.5
        return {"year_mean": mean, "year_std": std if std > 0 else 1.0, "count": self.count, "missing": self.missing}

    @classmethod
    def merge(cls, parts: Sequence[YearStats]) -> YearStats:
        """The parts' year sums added (whole numbers below 2^53: exact, so in any order)."""
        out = cls(parts[0].fmt)
        out.count, out.missing = sum(p.count for p in parts), sum(p.missing for p in parts)
        out.total, out.total_sq = sum(p.total for p in parts), sum(p.total_sq for p in parts)
        return out
