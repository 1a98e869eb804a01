"""Numerical features: coerce to numbers, standardise with train mean/std, flag missing values.

Heavy-tailed columns (money, counts: the max lies many standard deviations above the mean) are put
on a signed log1p scale before standardising — with `scaling: auto`, the default — because a
handful of huge values would otherwise squash every other row to nearly the same input.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from components.data.modalities import Codec, TransformContext, float_feature, register
from components.data.spec import FeatureSpec

MAX_ABS = 1e30  # beyond this a value is not a measurement; squares of it would overflow float64 sums
HEAVY_TAIL_Z = 8.0  # a max this many std above the mean: far beyond any light-tailed sample's


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
    # inf and values beyond float32's range can't be trained on: they count as unreadable, not silently.
    unusable = ~np.isfinite(out) | (np.abs(np.nan_to_num(out)) > MAX_ABS)
    out[unusable] = np.nan
    bad = int(np.sum(unusable & ~pd.isna(values).to_numpy(dtype=bool)))
    return out, bad


def signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


class _MeanVariance:
    """Streaming mean/variance (Chan et al. pairwise merge), so fitting needs one batch in memory."""

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0
        self.missing, self.non_numeric = 0, 0
        self.low, self.high = np.inf, -np.inf

    def update(self, values: pd.Series) -> None:
        numbers, bad = coerce_numbers(values)
        self.non_numeric += bad
        self.add(numbers)

    def add(self, numbers: np.ndarray) -> None:
        present = numbers[~np.isnan(numbers)]
        self.missing += len(numbers) - len(present)
        if len(present) == 0:
            return
        self.low, self.high = min(self.low, float(present.min())), max(self.high, float(present.max()))
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


class _Scaler:
    """Fits the raw and the signed-log1p scale together; `finalize` keeps the one the data calls for."""

    def __init__(self, scaling: str) -> None:
        self.scaling = scaling
        self.raw, self.logged = _MeanVariance(), _MeanVariance()

    def update(self, values: pd.Series) -> None:
        numbers, bad = coerce_numbers(values)
        self.raw.non_numeric += bad
        self.raw.add(numbers)
        self.logged.add(signed_log1p(numbers))

    def finalize(self) -> dict:
        raw = self.raw.finalize()
        heavy = raw["count"] > 1 and (self.raw.high - raw["mean"]) / raw["std"] > HEAVY_TAIL_Z
        use_log = self.scaling == "log" or (self.scaling == "auto" and heavy)
        if not use_log:
            return {**raw, "log": False}
        logged = self.logged.finalize()
        return {**raw, "mean": logged["mean"], "std": logged["std"], "log": True}


class NumericalFeature(FeatureSpec):
    """A number column (strings that hold numbers are read as numbers)."""

    modality: Literal["numerical"] = "numerical"
    scaling: Literal["auto", "log", "none"] = "auto"  # auto: signed log1p when the tail is heavy


@register
class Numerical(Codec):
    """Two tabular slots per feature: the standardised value (0 when missing) and a missing flag."""

    name = "numerical"
    options = NumericalFeature

    def fitter(self, spec) -> _Scaler:
        return _Scaler(spec.scaling)

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
