"""Time-series features (sensor series): a sequence of numbers or vectors per cell, of any length.

A cell is a Parquet list column's value or a JSON array in a CSV cell (`components.features.timeseries`
reads both). Preprocessing fits each channel's mean and std on the training rows (`scaling: standard`)
and stores a row's standardised values, cropped to `max_length` steps, as one float list (NaN where a
value is missing; its length / channels is the series' length). The model gets float32
`[max_length, channels]` with NaN wherever there is no value; its timeseries block makes the step mask
from that (`components.automl.blocks.timeseries`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from components.data.modalities.base import Codec, TransformContext, float_feature
from components.data.spec import FeatureSpec
from components.features.registry import MODALITIES
from components.features.timeseries import MAX_LENGTH_CAP, ChannelMoments, SeriesProblem, padded, parse_series


class TimeseriesFeature(FeatureSpec):
    """A column of series: numbers or vectors per step, of varying length, with missing values."""

    modality: Literal["timeseries"] = "timeseries"
    max_length: int = Field(128, gt=0, le=16 * MAX_LENGTH_CAP)  # steps the model reads; longer series are cropped
    channels: int | None = Field(None, gt=0)  # values per step; None: learned from the training rows
    scaling: Literal["standard", "none"] = "standard"  # standard: each channel by its train mean and std


class _Fitter(ChannelMoments):
    """Train moments that skip a cell it cannot read: validation reports it and the transform refuses
    it, both naming the row."""

    unreadable = 0

    def update(self, values: pd.Series) -> None:
        for value in values.astype(object):
            try:
                self.add(parse_series(value, self.channels))
            except SeriesProblem:
                self.unreadable += 1

    def finalize(self) -> dict:
        return {**super().finalize(), "unreadable": self.unreadable}

    def _merge_more(self, parts) -> None:
        self.unreadable = sum(p.unreadable for p in parts)


@MODALITIES.register
class Timeseries(Codec):
    """Its own x key (the feature's name): float32 [max_length, channels], NaN where no value."""

    name = "timeseries"
    options = TimeseriesFeature
    slot = "timeseries"
    blank = None  # no series: every step is padding
    library_input = "TimeseriesInput"

    def library_block(self, spec) -> tuple[str, dict]:
        return "TimeseriesBlock", {}

    def fitter(self, spec) -> ChannelMoments:
        return _Fitter(spec.channels)

    def _series(self, spec, fitted, values: pd.Series, ctx: TransformContext) -> list[np.ndarray]:
        """Each cell standardised (as the contract's scaling says), cropped to `max_length` steps."""
        channels = fitted["channels"]
        out, cropped = [], 0
        for position, value in enumerate(values.astype(object)):
            try:
                series = parse_series(value, channels)
            except SeriesProblem as problem:
                ctx.reject(position, spec.name, f"the series {problem}")
                series = np.zeros((0, channels))
            cropped += len(series) > spec.max_length
            series = series[: spec.max_length]
            if spec.scaling == "standard":
                series = (series - np.asarray(fitted["mean"])) / np.asarray(fitted["std"])
            out.append(series)
        if cropped:
            ctx.issues[f"{spec.name}: series longer than max_length {spec.max_length} (cropped)"] += cropped
        return out

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        return padded(self._series(spec, fitted, values, ctx), spec.max_length, fitted["channels"])

    def encode(self, spec, fitted, values, ctx: TransformContext) -> list[np.ndarray]:
        return [series.astype("float32").reshape(-1) for series in self._series(spec, fitted, values, ctx)]

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.VarLenFeature(tf.float32)

    def decode_batch(self, spec, fitted, tensor):
        import tensorflow as tf

        size = spec.max_length * fitted["channels"]
        dense = tf.sparse.to_dense(tensor, default_value=float("nan"))[:, :size]
        dense = tf.pad(dense, [[0, 0], [0, size - tf.shape(dense)[1]]], constant_values=float("nan"))
        return tf.reshape(dense, [-1, spec.max_length, fitted["channels"]])

    def decode(self, spec, fitted, tensor):
        import tensorflow as tf

        return self.decode_batch(spec, fitted, tf.sparse.expand_dims(tensor, 0))[0]

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([spec.max_length, fitted["channels"]], tf.float32)

    def parquet_columns(self, spec, fitted, transformed):
        return {}  # series live in the TFRecord shards only
