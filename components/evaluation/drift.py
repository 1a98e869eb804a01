"""Drift between two data profiles (`components.data.profile.profile_frame`), per column and modality.

A leaf on numpy and the standard library: it reads only the plain dicts a profile is made of (a profile
stored as JSON beside the champion model compares just as well). Statistics, per column:

numbers: PSI on the reference's 10 quantile bins, approximate two-sample KS from the 101 quantiles;
categories: share of rows with a category the reference never saw, vanished categories, PSI; text: rise of
the out-of-vocabulary rate, PSI of lengths in tokens; images: KS of width, height and aspect ratio, colour
mean/std shift in reference std units; audio: PSI of the clips' durations, RMS levels and spectral
centroids; time series: PSI of lengths and of each channel's per-series mean; embeddings: cosine distance
between centroids; targets: PSI of label shares or regression quantile bins, regression mean shift in
reference std units. Every column also gets `missing_rate_increase`. A check whose threshold is None is
informational.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np

from components.errors import InputError

DEFAULT_THRESHOLDS: dict[str, float] = {
    "psi": 0.2,
    "ks": 0.2,
    "new_category_share": 0.05,  # share of current rows whose category the reference never saw
    "oov_rate_increase": 0.10,
    "centroid_distance": 0.10,  # cosine distance between the reference and current embedding centroids
    "image_stat_shift": 0.5,  # largest channel mean/std change, in reference pixel-std units
    "target_psi": 0.2,
    "target_mean_shift": 0.5,  # regression target mean change, in reference std units
    "missing_rate_increase": 0.10,  # also applies to unreadable images
}
_OTHER = "__other__"
_VERSION = 1  # the profile layout this module reads
_UNSAFE = re.compile(r"[^\w\-. :/]")  # characters MLflow refuses in a metric name
_EPS = 1e-4  # floor of a bin's share in PSI: an empty bin would make PSI infinite


@dataclass(frozen=True)
class DriftCheck:
    """One statistic of one column: drifted when `value` exceeds `threshold` (None: informational)."""

    column: str
    modality: str
    statistic: str
    value: float
    threshold: float | None
    drifted: bool
    note: str = ""


@dataclass(frozen=True)
class DriftReport:
    """Every check of a comparison, in column order."""

    checks: list[DriftCheck]

    @property
    def drifted(self) -> list[DriftCheck]:
        return [c for c in self.checks if c.drifted]

    def metrics(self) -> dict[str, float]:
        """`drift/<column>/<statistic>` → value, plus `drift/drifted_checks`; names MLflow accepts."""
        out = {f"drift/{_UNSAFE.sub('_', c.column)}/{c.statistic}": c.value for c in self.checks}
        out["drift/drifted_checks"] = float(len(self.drifted))
        return out

    def markdown(self) -> str:
        """A one-line verdict, then a table of every check with drifted rows marked."""
        drifted = self.drifted
        if drifted:
            where = ", ".join(dict.fromkeys(c.column for c in drifted))
            verdict = f"**Drift: {len(drifted)} of {len(self.checks)} checks over threshold** ({where})"
        else:
            verdict = f"No drift: all {len(self.checks)} checks within thresholds"
        lines = [verdict, "", "| | column | modality | statistic | value | threshold | note |", "|---" * 7 + "|"]
        for c in self.checks:
            threshold = "—" if c.threshold is None else f"{c.threshold:g}"
            lines.append(
                f"| {'DRIFT' if c.drifted else ''} | {c.column} | {c.modality} | {c.statistic} | "
                f"{c.value:.4g} | {threshold} | {c.note} |"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"drifted": bool(self.drifted), "checks": [asdict(c) for c in self.checks]}


def profile_fingerprint(profile: dict) -> str:
    """A short hash of a profile; `compare` trusts a profile's exact reference statistics only when it matches."""
    return hashlib.sha256(json.dumps(profile, sort_keys=True).encode()).hexdigest()[:16]


def compare(reference: dict, current: dict, thresholds: Mapping[str, float] | None = None) -> DriftReport:
    """Compare the current data's profile with the reference's, column by column.

    Args:
        reference: the profile of the data the champion was trained on.
        current: tonight's profile; best built with `profile_frame(..., reference=reference)`, which makes
            PSI, new-category shares and OOV rates exact (otherwise they are approximated from quantiles
            and the stored top categories/tokens).
        thresholds: overrides of `DEFAULT_THRESHOLDS` (same keys).

    Returns:
        A `DriftReport`; a column in only one profile is a drifted `missing_column` check.

    Raises:
        InputError: an unknown or negative threshold, or an argument that is not a profile.

    Example:
        >>> report = compare(champion_profile, tonight_profile, {"psi": 0.25})
        >>> [(c.column, c.statistic) for c in report.drifted]
        [('price', 'psi')]
    """
    limits = _thresholds(thresholds)
    for name, profile in (("reference", reference), ("current", current)):
        if (
            not isinstance(profile, dict)
            or not isinstance(profile.get("columns"), dict)
            or profile.get("version") != _VERSION
        ):
            raise InputError(
                f"{name}: not a version {_VERSION} data profile (a dict with 'version' and "
                "'columns'); build it with components.data.profile.profile_frame"
            )
    exact = current.get("reference_fingerprint") == profile_fingerprint(reference)
    ref_cols, cur_cols = reference["columns"], current["columns"]
    checks: list[DriftCheck] = []
    for name in list(ref_cols) + [n for n in cur_cols if n not in ref_cols]:
        ref, cur = ref_cols.get(name), cur_cols.get(name)
        if ref is None or cur is None or ref.get("modality") != cur.get("modality"):
            statistic = "modality_changed" if ref and cur else "missing_column"
            note = (
                f"{ref.get('modality')} in the reference, {cur.get('modality')} now"
                if ref and cur
                else f"absent from the {'current' if cur is None else 'reference'} data"
            )
            checks.append(DriftCheck(name, (cur or ref).get("modality", ""), statistic, 1.0, 0.0, True, note))
            continue
        found = [("missing_rate_increase", cur["missing_rate"] - ref["missing_rate"], "missing_rate_increase")]
        if ref.get("count") and cur.get("count"):
            # datetime: only its missing rate, since dates move forward every night by design
            found += _STATISTICS.get(ref["modality"], lambda *_: [])(ref, cur, exact, ref.get("role") == "target")
        if ref.get("embedding", {}).get("count") and cur.get("embedding", {}).get("count"):
            found.append(
                ("centroid_distance", _cosine_distance(ref["embedding"], cur["embedding"]), "centroid_distance")
            )
        for statistic, value, key in found:
            threshold = limits[key] if key else None
            drifted = threshold is not None and value > threshold
            checks.append(DriftCheck(name, ref["modality"], statistic, float(value), threshold, drifted))
    return DriftReport(checks)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    expected, actual = np.maximum(np.asarray(expected, float), _EPS), np.maximum(np.asarray(actual, float), _EPS)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _numbers(ref: dict, cur: dict, exact: bool) -> tuple[float, float]:
    """(PSI on the reference's bins, approximate KS) of two numbers summaries; without exact shares in the
    reference's bins, they are read off the current CDF (from its quantiles) at the reference's edges."""
    shares = (
        cur["fractions_in_reference"]
        if exact and "fractions_in_reference" in cur
        else np.diff(np.concatenate([[0.0], _cdf(cur["quantiles"], ref["bin_edges"]), [1.0]]))
    )
    points = np.union1d(ref["quantiles"], cur["quantiles"])
    return psi(ref["bin_fractions"], shares), float(
        np.max(np.abs(_cdf(ref["quantiles"], points) - _cdf(cur["quantiles"], points)))
    )


def _cdf(quantiles: list[float], points) -> np.ndarray:
    """P(X <= point), to within 1/(len(quantiles) - 1), from evenly spaced quantiles."""
    q = np.asarray(quantiles, dtype=float)
    return np.clip((np.searchsorted(q, points, side="right") - 1) / (len(q) - 1), 0.0, 1.0)


def _numerical(ref: dict, cur: dict, exact: bool, target: bool) -> list:
    bins, ks = _numbers(ref, cur, exact)
    scale = ref["std"] if ref["std"] > 0 else max(abs(ref["mean"]), 1.0)
    found = [("target_psi" if target else "psi", bins, "target_psi" if target else "psi"), ("ks", ks, "ks")]
    if target:
        found.append(("target_mean_shift", abs(cur["mean"] - ref["mean"]) / scale, "target_mean_shift"))
    return found


def _multilabel(ref: dict, cur: dict, exact: bool, target: bool) -> list:
    found = _shares(_label_shares(ref), _label_shares(cur), cur, exact, ("new_label_share", "vanished_labels"), target)
    return found + [("mean_labels_change", cur["mean_labels"] - ref["mean_labels"], None)]


def _shares(known: dict, now: dict, cur: dict, exact: bool, names: tuple[str, str], target: bool, seen=()) -> list:
    """New share, vanished count and PSI of two value → share maps (the rest under `__other__`); `seen`:
    more values the reference had, beyond those it kept a share of."""
    new = (
        cur["outside_reference"]
        if exact and "outside_reference" in cur
        else sum(share for k, share in now.items() if k not in known and k not in seen and k != _OTHER)
    )
    vanished = sum(1 for k in known if k != _OTHER and k not in now)
    keys = sorted(set(known) | set(now))
    bins = psi([known.get(k, 0.0) for k in keys], [now.get(k, 0.0) for k in keys])
    key = "target_psi" if target else "psi"
    return [(names[0], new, "new_category_share"), (names[1], vanished, None), (key, bins, key)]


def _label_shares(profile: dict) -> dict[str, float]:
    """Each label's share of all label occurrences (from rows-with-label frequencies), the rest as other."""
    if not profile["mean_labels"]:
        return {}
    shares = {k: f / profile["mean_labels"] for k, f in profile["label_frequencies"].items()}
    shares[_OTHER] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def _text(ref: dict, cur: dict, exact: bool, target: bool) -> list:
    # Approximate: tokens outside the current top tokens are counted as outside the reference vocabulary.
    oov = (
        cur["oov_rate_vs_reference"]
        if exact and "oov_rate_vs_reference" in cur
        else cur["oov_rate"] + sum(s for word, s in cur["vocabulary"].items() if word not in ref["vocabulary"])
    )
    found = [("oov_rate_increase", oov - ref["oov_rate"], "oov_rate_increase")]
    if ref["length"]["count"] and cur["length"]["count"]:
        found.append(("length_psi", _numbers(ref["length"], cur["length"], exact)[0], "psi"))
    return found


def _unreadable(ref: dict, cur: dict) -> tuple:
    """The rise in the share of sampled images or clips that could not be read."""
    return ("unreadable_rate_increase", cur["unreadable_rate"] - ref["unreadable_rate"], "missing_rate_increase")


def _image(ref: dict, cur: dict, exact: bool, target: bool) -> list:
    found = [_unreadable(ref, cur)]
    for name in ("width", "height", "aspect"):
        if ref[name]["count"] and cur[name]["count"]:
            found.append((f"{name}_ks", _numbers(ref[name], cur[name], exact)[1], "ks"))
    if "channel_mean" in ref and "channel_mean" in cur:
        scale = np.maximum(np.tile(ref["channel_std"], 2), 1.0)  # a flat-colour reference: one grey level
        shift = np.subtract(cur["channel_mean"] + cur["channel_std"], ref["channel_mean"] + ref["channel_std"])
        found.append(("colour_shift", float(np.max(np.abs(shift) / scale)), "image_stat_shift"))
    return found


def _timeseries(ref: dict, cur: dict, exact: bool, target: bool) -> list:
    """PSI of the series' lengths and of each channel's per-series mean."""
    found = []
    if ref["length"]["count"] and cur["length"]["count"]:
        found.append(("length_psi", _numbers(ref["length"], cur["length"], exact)[0], "psi"))
    for channel, (known, now) in enumerate(zip(ref["channel_mean"], cur["channel_mean"])):
        if known["count"] and now["count"]:
            found.append((f"channel_{channel}_mean_psi", _numbers(known, now, exact)[0], "psi"))
    return found


def _audio(ref: dict, cur: dict, exact: bool, target: bool) -> list:
    """PSI of the sampled clips' durations, RMS levels (dBFS) and spectral centroids (Hz): a new microphone,
    gain setting or source shows in the level and centroid, cut or padded recordings in the duration."""
    found = [_unreadable(ref, cur)]
    for name in ("seconds", "rms_dbfs", "centroid_hz"):
        if ref[name]["count"] and cur[name]["count"]:
            found.append((f"{name}_psi", _numbers(ref[name], cur[name], exact)[0], "psi"))
    return found


_CATEGORIES = ("new_category_share", "vanished_categories")
_STATISTICS = {
    "numerical": _numerical,
    "multilabel": _multilabel,
    "text": _text,
    "image": _image,
    "timeseries": _timeseries,
    "audio": _audio,
    "categorical": lambda r, c, e, t: _shares(
        r["frequencies"], c["frequencies"], c, e, _CATEGORIES, t, set(r.get("known", ()))
    ),
}


def _cosine_distance(ref: dict, cur: dict) -> float:
    a, b = np.asarray(ref["centroid"], dtype=float), np.asarray(cur["centroid"], dtype=float)
    if a.shape != b.shape:
        return 2.0  # embeddings of different sizes come from different encoders: as far apart as can be
    return float(1.0 - a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def _thresholds(given: Mapping[str, float] | None) -> dict[str, float]:
    limits = dict(DEFAULT_THRESHOLDS)
    for key, value in (given or {}).items():
        if key not in DEFAULT_THRESHOLDS:
            raise InputError(f"thresholds: unknown key '{key}'; valid keys: {', '.join(DEFAULT_THRESHOLDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise InputError(f"thresholds['{key}'] = {value!r}; give a finite number >= 0")
        limits[key] = float(value)
    return limits
