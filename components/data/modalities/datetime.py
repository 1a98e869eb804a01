"""Datetime features: scaled year, cyclic month / weekday / day-of-year, and a missing flag."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from components.data.modalities import (
    Codec,
    TransformContext,
    float_feature,
    missing_mask,
    register,
)
from components.data.spec import FeatureSpec

PARTS = ["year", "month_sin", "month_cos", "weekday_sin", "weekday_cos", "doy_sin", "doy_cos", "missing"]


def parse_dates(values: pd.Series, fmt: str | None) -> tuple[pd.DatetimeIndex, int]:
    """Dates from strings (with the contract's `datetime_format`, else ISO 8601) or datetimes.

    Returns:
        the dates (NaT where missing or unreadable) and how many present values could not be read.
    """
    present = ~missing_mask(values)
    raw = values.astype(object).where(present, None)
    if fmt:
        dates = pd.to_datetime(raw, format=fmt, errors="coerce", utc=True)
    else:
        dates = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=True)
    dates = pd.DatetimeIndex(dates).tz_localize(None)
    bad = int(np.sum(dates.isna() & present))
    return dates, bad


def _cycle(value: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray]:
    angle = 2 * np.pi * value / period
    return np.sin(angle), np.cos(angle)


class _YearStats:
    def __init__(self, fmt: str | None) -> None:
        self.fmt = fmt
        self.count, self.total, self.total_sq, self.missing = 0, 0.0, 0.0, 0

    def update(self, values: pd.Series) -> None:
        dates, _ = parse_dates(values, self.fmt)
        years = dates.year.to_numpy(dtype=np.float64)[~dates.isna()]
        self.missing += int(dates.isna().sum())
        self.count += len(years)
        # Years are small numbers, so plain sums of squares lose no precision here.
        self.total += float(years.sum())
        self.total_sq += float((years**2).sum())

    def finalize(self) -> dict:
        mean = self.total / self.count if self.count else 2000.0
        var = self.total_sq / self.count - mean**2 if self.count else 0.0
        std = max(var, 0.0) ** 0.5
        return {"year_mean": mean, "year_std": std if std > 0 else 1.0, "count": self.count, "missing": self.missing}


class DatetimeFeature(FeatureSpec):
    """A date or timestamp column."""

    modality: Literal["datetime"] = "datetime"
    datetime_format: str | None = None  # strftime format; ISO 8601 when None


@register
class Datetime(Codec):
    name = "datetime"
    options = DatetimeFeature

    def fitter(self, spec) -> _YearStats:
        return _YearStats(spec.datetime_format)

    def columns(self, spec, fitted: dict) -> list[str]:
        return [f"{spec.name}__{part}" for part in PARTS]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        dates, bad = parse_dates(values, spec.datetime_format)
        if bad:
            ctx.issues[f"{spec.name}: not a date (treated as missing)"] += bad
        missing = np.asarray(dates.isna())

        def part(values) -> np.ndarray:
            return np.nan_to_num(np.asarray(values, dtype=np.float64))

        year = np.where(missing, 0.0, (part(dates.year) - fitted["year_mean"]) / fitted["year_std"])
        columns = [year]
        for value, period in (
            (part(dates.month) - 1, 12),
            (part(dates.dayofweek), 7),
            (part(dates.dayofyear) - 1, 366),
        ):
            sin, cos = _cycle(value, period)
            columns += [np.where(missing, 0.0, sin), np.where(missing, 0.0, cos)]
        columns.append(missing.astype(np.float64))
        return np.stack(columns, axis=1).astype(np.float32)

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([len(PARTS)], tf.float32)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([len(PARTS)], tf.float32)
