"""Numerical features: coerce to numbers, standardise with train mean/std, flag missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import tensorflow as tf

from components.modalities import Codec, TransformContext, float_feature, register


def coerce_numbers(values: pd.Series) -> tuple[np.ndarray, int]:
    """Numbers from a column that may hold strings ("12", " 3.5 ", "n/a").

    Returns:
        float64 values with NaN where missing or not a number (inf counts as missing), and how many
        present values could not be read as a number.
    """
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        stripped = values.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
        numbers = pd.to_numeric(stripped.replace("", None), errors="coerce")
    else:
        numbers = pd.to_numeric(values, errors="coerce")
    out = np.array(numbers, dtype=np.float64)
    bad = int(np.sum(np.isnan(out) & ~pd.isna(values).to_numpy(dtype=bool)))
    out[~np.isfinite(out)] = np.nan
    return out, bad


class _MeanVariance:
    """Streaming mean/variance (Chan et al. pairwise merge), so fitting needs one batch in memory."""

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0
        self.missing, self.non_numeric = 0, 0

    def update(self, values: pd.Series) -> None:
        numbers, bad = coerce_numbers(values)
        self.non_numeric += bad
        present = numbers[~np.isnan(numbers)]
        self.missing += len(numbers) - len(present)
        if len(present) == 0:
            return
        n, mean = len(present), float(present.mean())
        m2 = float(((present - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.count * n / total
        self.count = total

    def finalize(self) -> dict:
        std = (self.m2 / self.count) ** 0.5 if self.count > 1 else 0.0
        return {
            "mean": self.mean,
            "std": std if std > 0 else 1.0,
            "count": self.count,
            "missing": self.missing,
            "non_numeric": self.non_numeric,
        }


@register
class Numerical(Codec):
    """Two tabular slots per feature: the standardised value (0 when missing) and a missing flag."""

    name = "numerical"

    def fitter(self, spec) -> _MeanVariance:
        return _MeanVariance()

    def columns(self, spec, fitted: dict) -> list[str]:
        return [spec.name, f"{spec.name}__missing"]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        numbers, bad = coerce_numbers(values)
        if bad:
            ctx.issues[f"{spec.name}: not a number (treated as missing)"] += bad
        missing = np.isnan(numbers)
        scaled = np.where(missing, 0.0, (numbers - fitted["mean"]) / fitted["std"])
        return np.stack([scaled, missing], axis=1).astype(np.float32)

    def tf_feature(self, stored) -> tf.train.Feature:
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        return tf.io.FixedLenFeature([2], tf.float32)

    def tensor_spec(self, spec, fitted):
        return tf.TensorSpec([2], tf.float32)
