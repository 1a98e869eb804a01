"""Numerical features: coerce to numbers, standardise with train mean/std, flag missing values.

Heavy-tailed columns (money, counts: the max lies many standard deviations above the mean) are put
on a signed log1p scale before standardising — with `scaling: auto`, the default — because a
handful of huge values would otherwise squash every other row to nearly the same input
(`components.features.numerical.Scaler`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from components.data.modalities.base import Codec, TransformContext, float_feature
from components.data.spec import FeatureSpec
from components.features.numerical import Scaler, coerce_numbers, signed_log1p
from components.features.registry import MODALITIES


class NumericalFeature(FeatureSpec):
    """A number column (strings that hold numbers are read as numbers)."""

    modality: Literal["numerical"] = "numerical"
    scaling: Literal["auto", "log", "none"] = "auto"  # auto: signed log1p when the tail is heavy


@MODALITIES.register
class Numerical(Codec):
    """Two tabular slots per feature: the standardised value (0 when missing) and a missing flag."""

    name = "numerical"
    options = NumericalFeature
    blank = float("nan")

    def fitter(self, spec) -> Scaler:
        return Scaler(spec.scaling)

    def columns(self, spec, fitted: dict) -> list[str]:
        return [spec.name, f"{spec.name}__missing"]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        numbers, bad = coerce_numbers(values)
        if bad:
            ctx.issues[f"{spec.name}: not a number (treated as missing)"] += bad
        missing = np.isnan(numbers)
        if fitted.get("log"):
            numbers = signed_log1p(numbers)
        scaled = np.clip(np.where(missing, 0.0, (numbers - fitted["mean"]) / fitted["std"]), -1e6, 1e6)
        return np.stack([scaled, missing], axis=1).astype(np.float32)

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([2], tf.float32)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([2], tf.float32)
