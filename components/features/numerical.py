"""Numerical columns: reading numbers, their train moments, and when a heavy tail calls for a log scale.

Two encodings build on these statistics. Preprocessing standardises each value and flags missing ones
(`Scaler`: signed log1p first when the max lies far above the mean, `scaling: auto`). The library's
tabular block encodes a column inside the model from `numeric_stats`: signed log for right-skewed
columns, standardisation, piecewise-linear bins over train quantiles, missing and zero indicators.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_ABS = 1e30  # beyond this a value is not a measurement; squares of it would overflow float64 sums
HEAVY_TAIL_Z = 8.0  # a max this many std above the mean: far beyond any light-tailed sample's
MIN_STD = 1e-12  # a spread below this is a constant column: it is scaled by 1, not blown up
PLE_BINS = 16
ZERO_RATE = 0.05  # exact zeros this frequent get an indicator: budgets, counts where 0 means "unknown"
SKEW = 2.0  # columns this right-skewed (and non-negative-heavy) are encoded as sign(x) * log1p(|x|)


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


def signed_log1p(values):
    return np.sign(values) * np.log1p(np.abs(values))


class MeanVariance:
    """Streaming mean/variance of the finite values (Chan et al. pairwise merge), so fitting needs one
    batch in memory."""

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0
        self.missing, self.non_numeric = 0, 0
        self.low, self.high = np.inf, -np.inf

    def update(self, values: pd.Series) -> None:
        numbers, bad = coerce_numbers(values)
        self.non_numeric += bad
        self.add(numbers)

    def add(self, numbers: np.ndarray) -> None:
        present = numbers[np.isfinite(numbers)]
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
            "std": std if std > MIN_STD else 1.0,
            "count": self.count,
            "missing": self.missing,
            "non_numeric": self.non_numeric,
        }


def moments(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the finite values: (0, 1) when there are none, a std of 1 for a
    constant column."""
    stats = MeanVariance()
    stats.add(np.asarray(values, dtype="float64"))
    fitted = stats.finalize()
    return fitted["mean"], fitted["std"]


class Scaler:
    """Fits the raw and the signed-log1p scale together; `finalize` keeps the one the data calls for.

    Args:
        scaling: "auto" (signed log1p when the tail is heavy: the max more than `HEAVY_TAIL_Z` std
            above the mean), "log" or "none".
    """

    def __init__(self, scaling: str) -> None:
        self.scaling = scaling
        self.raw, self.logged = MeanVariance(), MeanVariance()

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


def numeric_stats(numbers: np.ndarray, bins: int = PLE_BINS) -> dict:
    """What the library's numeric encoding learns from one column (float64 values, NaN for missing):
    a missing and a zero indicator, the signed log for right-skewed wide columns, mean and std, and
    piecewise-linear bin edges at train quantiles."""
    finite = numbers[np.isfinite(numbers)]
    stats: dict = {"missing": bool(len(finite) < len(numbers)), "zero": False, "log": False}
    if len(finite):
        stats["zero"] = bool(np.mean(finite == 0) >= ZERO_RATE)
        std = finite.std()
        skew = float(np.mean(((finite - finite.mean()) / std) ** 3)) if std > MIN_STD else 0.0
        stats["log"] = bool(skew > SKEW and np.ptp(finite) > 100)
    values = signed_log1p(finite) if stats["log"] else finite
    mean, std = moments(values)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1))) if len(values) else np.zeros(1)
    stats.update(mean=mean, std=std, edges=[float(e) for e in edges] if len(edges) >= 3 else [])
    return stats
