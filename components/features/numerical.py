"""Numerical columns: reading numbers, their train moments, and when a heavy tail calls for a log scale.

Two encodings build on these statistics. Preprocessing standardises each value and flags missing ones
(`Scaler`: signed log1p first when the max lies far above the mean, `scaling: auto`). The library's
tabular block encodes a column inside the model from `numeric_stats`: signed log for right-skewed
columns, standardisation, piecewise-linear bins over train quantiles, missing and zero indicators.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

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


# x * 2**_SHIFT is an integer for every finite float64 (the smallest step of a subnormal is 2**-1074, and
# frexp's 53-bit mantissa shifts that by 52 more): exact sums are integers at that scale.
_SHIFT = 1126
_PIECE = 18  # a 53-bit mantissa as three 18-bit pieces: their products summed over a batch fit in int64
_FLOAT_MAX = Fraction(np.finfo(np.float64).max)
_CHUNK = 1 << 24  # values summed in one int64 reduction at most (2^38 * 2^24 < 2^63)


def exact_sums(values: np.ndarray) -> tuple[int, int]:
    """The exact sums of `values` and of their squares (finite float64), as integers: sum = s1 / 2**_SHIFT,
    sum of squares = s2 / 2**(2 * _SHIFT).

    Integer sums do not depend on the order of the values nor on how they were cut into batches or parts,
    so moments merged from parts are bit for bit the moments of the whole (floating-point running means
    are not: Chan's pairwise formula rounds differently for every cut).
    """
    if len(values) > _CHUNK:
        sums = [exact_sums(values[i : i + _CHUNK]) for i in range(0, len(values), _CHUNK)]
        return sum(s for s, _ in sums), sum(s for _, s in sums)
    if not len(values):
        return 0, 0
    mantissa, exponent = np.frexp(values)
    m = (mantissa * 2.0**53).astype(np.int64)  # values == m * 2**(exponent - 53), exactly
    shift = exponent.astype(np.int64) - 53 + _SHIFT
    order = np.argsort(shift, kind="stable")
    m, shift = m[order], shift[order]
    starts = np.flatnonzero(np.r_[True, shift[1:] != shift[:-1]])
    mask = (1 << _PIECE) - 1
    p0, p1, p2 = m & mask, (m >> _PIECE) & mask, m >> (2 * _PIECE)
    # m = p0 + p1 2^18 + p2 2^36, so m^2 = sum of these products at 2^0, 2^18, 2^36, 2^54, 2^72
    terms = [p0 * p0, 2 * p0 * p1, 2 * p0 * p2 + p1 * p1, 2 * p1 * p2, p2 * p2]
    linear = [np.add.reduceat(p, starts) for p in (p0, p1, p2)]
    squares = [np.add.reduceat(t, starts) for t in terms]
    s1 = s2 = 0
    for g, start in enumerate(starts):
        u = int(shift[start])
        s1 += sum(int(linear[k][g]) << (_PIECE * k) for k in range(3)) << u
        s2 += sum(int(squares[k][g]) << (_PIECE * k) for k in range(5)) << (2 * u)
    return s1, s2


class MeanVariance:
    """Mean/variance of the finite values, streamed over batches and mergeable over parts: exact integer
    sums (`exact_sums`), so the moments are the correctly rounded ones whatever the batches or parts."""

    def __init__(self) -> None:
        self.count, self.s1, self.s2 = 0, 0, 0
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
        s1, s2 = exact_sums(present)
        self.count, self.s1, self.s2 = self.count + len(present), self.s1 + s1, self.s2 + s2

    @property
    def mean(self) -> float:
        return float(Fraction(self.s1, self.count << _SHIFT)) if self.count else 0.0

    def finalize(self) -> dict:
        std = 0.0
        if self.count > 1:
            # n^2 var = n s2 - s1^2 (at scale 2^(2 _SHIFT)): exact, then rounded once
            variance = Fraction(self.count * self.s2 - self.s1**2, self.count**2 << (2 * _SHIFT))
            std = float(variance) ** 0.5 if variance < _FLOAT_MAX else np.inf  # spreads beyond 1e154
        return {
            "mean": self.mean,
            "std": std if std > MIN_STD else 1.0,
            "count": self.count,
            "missing": self.missing,
            "non_numeric": self.non_numeric,
        }

    @classmethod
    def merge(cls, parts: Sequence[MeanVariance]) -> MeanVariance:
        """The moments of the parts' values together (exact: integer sums add)."""
        out = cls()
        for part in parts:
            out.count, out.s1, out.s2 = out.count + part.count, out.s1 + part.s1, out.s2 + part.s2
            out.missing, out.non_numeric = out.missing + part.missing, out.non_numeric + part.non_numeric
            out.low, out.high = min(out.low, part.low), max(out.high, part.high)
        return out


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

    @classmethod
    def merge(cls, parts: Sequence[Scaler]) -> Scaler:
        """Both scales' moments of the parts together (exact, as `MeanVariance.merge`)."""
        out = cls(parts[0].scaling)
        out.raw = MeanVariance.merge([p.raw for p in parts])
        out.logged = MeanVariance.merge([p.logged for p in parts])
        return out


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
