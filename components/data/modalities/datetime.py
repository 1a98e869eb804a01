"""Datetime features: the date parts of `components.features.datetime` (scaled year, time index, cyclic
month / weekday / day of year / hour) and a missing flag."""

from __future__ import annotations

from typing import Literal

import numpy as np

from components.data.modalities.base import Codec, TransformContext, float_feature
from components.data.spec import FeatureSpec
from components.features.datetime import YearStats, date_parts, parse_dates, part_names
from components.features.registry import MODALITIES


class DatetimeFeature(FeatureSpec):
    """A date or timestamp column."""

    modality: Literal["datetime"] = "datetime"
    datetime_format: str | None = None  # strftime format; ISO 8601 when None


@MODALITIES.register
class Datetime(Codec):
    name = "datetime"
    options = DatetimeFeature

    def fitter(self, spec) -> YearStats:
        return YearStats(spec.datetime_format)

    def columns(self, spec, fitted: dict) -> list[str]:
        return [f"{spec.name}__{part}" for part in part_names(fitted)]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        dates, bad = parse_dates(values, spec.datetime_format)
        if bad.any():
            ctx.issues[f"{spec.name}: not a date (treated as missing)"] += int(bad.sum())
        return date_parts(dates, fitted)

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([len(part_names(fitted))], tf.float32)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([len(part_names(fitted))], tf.float32)
