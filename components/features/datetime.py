"""Datetime: reading dates, the train dates' statistics, and the parts a date becomes.

The parts (`part_names`): the year scaled by the train years' mean and spread; a monotone time index
(days since the earliest training date over the training span: 0 to 1 on train, past 1 later); the
sine and cosine of the month, the day of the week (Monday first) and the day of the year; of the hour,
when the training values have times; and a missing flag. Zeros where a date is missing.

Preprocessing computes them here with numpy (`date_parts`); the library's tabular block computes the
same parts inside the model (from "YYYY-MM-DD[ HH:MM]" strings, so an exported model takes raw
dates), both from the statistics `YearStats` fits on the training rows. The trees read plain ordinals
and the raw timestamp instead (`tree_date_parts`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from components.features.common import missing_mask

# The parts of a state fitted before the time index and the hour (no "day_min"): kept so it still serves.
PARTS = ["year", "month_sin", "month_cos", "weekday_sin", "weekday_cos", "doy_sin", "doy_cos", "missing"]
CYCLES = {"month": 12, "weekday": 7, "doy": 366, "hour": 24}
DEFAULT_YEAR = 2000.0  # the year's mean when no training row has a date
_EPOCH = pd.Timestamp("1970-01-01")


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


def days(dates: pd.DatetimeIndex) -> np.ndarray:
    """Days since 1970-01-01, with the time of day as a fraction (NaN where missing)."""
    return np.asarray((dates - _EPOCH) / pd.Timedelta(days=1), dtype=np.float64)


def part_names(fitted: dict) -> list[str]:
    """The parts a date column fitted as `fitted` (`YearStats.finalize`) becomes, in order."""
    if "day_min" not in fitted:
        return list(PARTS)
    cyclic = ["month", "weekday", "doy"] + (["hour"] if fitted.get("has_time") else [])
    return ["year", "time"] + [f"{name}_{f}" for name in cyclic for f in ("sin", "cos")] + ["missing"]


def date_parts(dates: pd.DatetimeIndex, fitted: dict) -> np.ndarray:
    """Dates → `[rows, len(part_names(fitted))]` float32 (the module's parts), zeros where missing."""
    missing = np.asarray(dates.isna())

    def part(values) -> np.ndarray:
        return np.nan_to_num(np.asarray(values, dtype=np.float64))

    values = {
        "year": (part(dates.year) - fitted["year_mean"]) / fitted["year_std"],
        "time": (np.nan_to_num(days(dates)) - fitted.get("day_min", 0.0)) / fitted.get("day_span", 1.0),
        "missing": missing,
    }
    ordinals = {
        "month": part(dates.month) - 1,
        "weekday": part(dates.dayofweek),
        "doy": part(dates.dayofyear) - 1,
        "hour": part(dates.hour) + part(dates.minute) / 60,
    }
    for name, value in ordinals.items():
        values[f"{name}_sin"], values[f"{name}_cos"] = cycle(value, CYCLES[name])
    columns = [np.where(missing, 0.0, values[name]) if name != "missing" else missing for name in part_names(fitted)]
    return np.stack(columns, axis=1).astype(np.float32)


def tree_date_parts(dates: pd.DatetimeIndex) -> list[np.ndarray]:
    """What gradient-boosted trees read of a date column: the raw timestamp (days since 1970, time of
    day as a fraction), month, day of year, day of week (Monday 0) and hour of day (with minutes), NaN
    where missing. Plain ordinals: a tree cuts an ordinal once where a sine/cosine pair takes two."""
    hour = dates.hour + dates.minute / 60.0
    return [days(dates)] + [
        np.asarray(v, dtype=np.float64) for v in (dates.month, dates.dayofyear, dates.dayofweek, hour)
    ]


class YearStats:
    """The train years' mean and standard deviation, the span of the training dates and whether they
    have times of day, streamed: `update` per batch of raw values (or `add_dates` per batch of parsed
    dates), then `finalize`."""

    def __init__(self, fmt: str | None = None) -> None:
        self.fmt = fmt
        self.count, self.total, self.total_sq, self.missing = 0, 0.0, 0.0, 0
        self.day_min, self.day_max, self.has_time = np.inf, -np.inf, False

    def update(self, values: pd.Series) -> None:
        dates, _ = parse_dates(values, self.fmt)
        self.add_dates(dates)

    def add_dates(self, dates: pd.DatetimeIndex) -> None:
        self.add(dates.year.to_numpy(dtype=np.float64))
        known = days(dates)
        known = known[np.isfinite(known)]
        if len(known):
            self.day_min, self.day_max = min(self.day_min, known.min()), max(self.day_max, known.max())
            self.has_time = self.has_time or bool((known % 1 != 0).any())

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
        seen = np.isfinite(self.day_min)
        return {
            "year_mean": mean,
            "year_std": std if std > 0 else 1.0,
            "count": self.count,
            "missing": self.missing,
            "day_min": float(self.day_min) if seen else 0.0,
            "day_span": max(float(self.day_max - self.day_min), 1.0) if seen else 1.0,
            "has_time": self.has_time,
        }

    @classmethod
    def merge(cls, parts: Sequence[YearStats]) -> YearStats:
        """The parts' year sums added (whole numbers below 2^53: exact, so in any order), their date
        range joined."""
        out = cls(parts[0].fmt)
        out.count, out.missing = sum(p.count for p in parts), sum(p.missing for p in parts)
        out.total, out.total_sq = sum(p.total for p in parts), sum(p.total_sq for p in parts)
        out.day_min, out.day_max = min(p.day_min for p in parts), max(p.day_max for p in parts)
        out.has_time = any(p.has_time for p in parts)
        return out
