"""A statistical profile of raw rows, per contract column, as plain JSON-serialisable data.

The nightly pipeline compares tonight's profile with that of the champion's training rows
(`components.evaluation.drift.compare`); raw rows are gone by then, so every statistic it needs is here.
Some need the reference profile itself (shares in the reference's PSI bins, tokens and categories outside
the reference's): pass `reference=` to store them; without it `compare` approximates them. Cells are read
the way preprocessing reads them (its tokeniser, category spelling, date parser and image locator).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from components.data.contract import Contract, parse_labels
from components.data.images import ImageProblem, locate, normalized_root
from components.data.modalities.audio import read_clip
from components.errors import InputError
from components.evaluation.drift import profile_fingerprint
from components.features.audio import AudioProblem, clip_profile
from components.features.categorical import category_strings
from components.features.datetime import parse_dates
from components.features.text import clean_text, tokens
from components.features.timeseries import SUMMARY, summary_features

VERSION = 1
QUANTILES = np.linspace(0.0, 1.0, 101)
BIN_EDGES = np.linspace(0.1, 0.9, 9)  # interior edges of 10 quantile bins
TOP_CATEGORIES = 100
TOP_KNOWN = 10_000  # category names kept when there are more than TOP_CATEGORIES
TOP_TOKENS = 5000
OTHER = "__other__"
_THUMBNAIL = (256, 256)  # colour statistics of a big photo barely change when read at this size


def profile_frame(
    contract: Contract,
    frame: pd.DataFrame,
    image_base: Path | None = None,
    embeddings: dict[str, np.ndarray] | None = None,
    max_images: int = 200,
    seed: int = 0,
    reference: dict | None = None,
) -> dict:
    """Profile every feature and target of `contract` in `frame`.

    Args:
        contract: the data contract; says each column's modality (features) or task (targets).
        frame: raw rows as read from the source; every contract feature and target must be a column.
        image_base: the directory image paths are relative to (`contract.source.image_base`).
        embeddings: optional rows x d arrays per text/image feature (e.g. frozen pretrained embeddings),
            aligned with `frame`'s rows; profiled as a centroid and the spread around it.
        max_images: at most this many images per image column, and clips per audio column, are opened (a
            seeded sample).
        seed: seeds the image and clip samples.
        reference: the reference profile (the champion's training rows). When given, numeric summaries
            also store their shares in the reference's bins, categories their share outside the
            reference's, and text its tokens outside the reference vocabulary, so that `compare` is exact.

    Returns:
        `{"version": 1, "rows": n, "columns": {name: {...}}}`: plain floats, ints, strings, lists, dicts.

    Raises:
        InputError: a column is missing from `frame`, or an embedding is not a rows x d array of a feature.

    Example:
        >>> reference = profile_frame(contract, train_rows, contract.source.image_base)
        >>> tonight = profile_frame(contract, new_rows, contract.source.image_base, reference=reference)
    """
    absent = [spec.name for spec in [*contract.features, *contract.targets] if spec.name not in frame.columns]
    if absent:
        raise InputError(f"frame lacks contract column(s) {absent}; it has {list(frame.columns)}")
    ref_columns = (reference or {}).get("columns", {})
    media = {"base": image_base, "max_items": max_images, "seed": seed}
    by_modality = {**_BY_MODALITY, "image": partial(_image, **media), "audio": partial(_audio, **media)}
    columns: dict[str, dict] = {}
    for spec, profile, role in [(f, by_modality.get(f.modality, _present), "feature") for f in contract.features] + [
        (t, _BY_TASK[t.task], "target") for t in contract.targets
    ]:
        columns[spec.name] = {**profile(frame[spec.name], spec, ref_columns.get(spec.name)), "role": role}
    for name, matrix in (embeddings or {}).items():
        if name not in columns or columns[name]["role"] != "feature":
            raise InputError(f"embeddings['{name}']: '{name}' is not a feature of contract '{contract.name}'")
        columns[name]["embedding"] = _embedding(name, matrix, len(frame))
    out = {"version": VERSION, "rows": int(len(frame)), "columns": columns}
    if reference is not None:
        out["reference_fingerprint"] = profile_fingerprint(reference)
    return out


def numbers_summary(values: np.ndarray, ref: dict | None = None) -> dict:
    """Count, mean, std, 101 quantiles and 10 quantile bins (edges + shares) of the finite `values`;
    with `ref` (another numbers summary) also the shares of `values` in `ref`'s bins."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"count": 0}
    edges = np.unique(np.quantile(values, BIN_EDGES))
    out = {
        "count": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "zero_rate": float(np.mean(values == 0)),
        "quantiles": _floats(np.quantile(values, QUANTILES)),
        "bin_edges": _floats(edges),
        "bin_fractions": bin_fractions(values, edges),
    }
    if ref and ref.get("count"):
        out["fractions_in_reference"] = bin_fractions(values, np.asarray(ref["bin_edges"]))
    return out


def bin_fractions(values: np.ndarray, edges: np.ndarray) -> list[float]:
    """Share of `values` in each bin: (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return _floats(counts / max(len(values), 1))


def _numerical(values: pd.Series, spec: Any, ref: dict | None) -> dict:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    summary = numbers_summary(numbers, ref if _same(ref, "numerical") else None)
    return {**_head("numerical", summary["count"], len(values)), **summary}


def _categorical(values: pd.Series, spec: Any, ref: dict | None) -> dict:
    present = [v for v in category_strings(values) if v is not None]
    counts = Counter(present)
    frequencies = {k: n / len(present) for k, n in counts.most_common(TOP_CATEGORIES)}
    out = {**_head("categorical", len(present), len(values)), "unique": len(counts), "frequencies": frequencies}
    if len(counts) > TOP_CATEGORIES:  # many more names than shares, so that a tail category is not taken for new
        frequencies[OTHER] = 1.0 - sum(frequencies.values())
        out["known"] = [k for k, _ in counts.most_common(TOP_KNOWN)]
    if _same(ref, "categorical") and present:
        known = set(ref.get("known", ())) | set(ref["frequencies"]) - {OTHER}
        out["outside_reference"] = sum(n for k, n in counts.items() if k not in known) / len(present)
    return out


def _multilabel(values: pd.Series, target: Any, ref: dict | None) -> dict:
    rows = []
    for value in values.astype(object):
        try:
            labels = parse_labels(value, target)
        except (ValueError, SyntaxError):  # an unreadable cell is counted as missing, not as labels
            continue
        if labels is not None:
            rows.append(set(labels))
    counts = Counter(label for labels in rows for label in labels)
    total = sum(counts.values())
    out = {
        **_head("multilabel", len(rows), len(values)),
        "mean_labels": total / len(rows) if rows else 0.0,
        "unique": len(counts),
        "label_frequencies": {k: n / len(rows) for k, n in counts.most_common(TOP_CATEGORIES)},
    }
    if _same(ref, "multilabel") and total:
        known = set(ref["label_frequencies"])
        out["outside_reference"] = sum(n for k, n in counts.items() if k not in known) / total
    return out


def _text(values: pd.Series, spec: Any, ref: dict | None) -> dict:
    rows = [tokens(clean_text(v)) for v in values.astype(object)]
    rows = [words for words in rows if words]
    counts = Counter(word for words in rows for word in words)
    total = sum(counts.values())
    vocabulary = {word: n / total for word, n in counts.most_common(TOP_TOKENS)}
    same = _same(ref, "text")
    out = {
        **_head("text", len(rows), len(values)),
        "tokens": total,
        "vocabulary": vocabulary,
        "oov_rate": max(0.0, 1.0 - sum(vocabulary.values())),
        "length": numbers_summary(np.array([len(words) for words in rows]), ref["length"] if same else None),
    }
    if same and total:
        known = ref["vocabulary"]
        out["oov_rate_vs_reference"] = sum(n for word, n in counts.items() if word not in known) / total
    return out


def _image(values: pd.Series, spec: Any, ref: dict | None, base: Path | None, max_items: int, seed: int) -> dict:
    cells = values.astype(object).to_numpy()
    present, sample = _sampled(cells, max_items, seed)
    root = normalized_root(base)
    sizes, means, squares, unreadable = [], [], [], 0
    for i in sample:
        try:
            source = locate(cells[i], root)
            with Image.open(BytesIO(source) if isinstance(source, bytes) else source) as img:
                sizes.append(img.size)
                img.draft("RGB", _THUMBNAIL)
                img = img.convert("RGB")
                img.thumbnail(_THUMBNAIL)
                pixels = np.asarray(img, dtype=float).reshape(-1, 3)
        except (ImageProblem, UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, TypeError):
            unreadable += 1
            continue
        means.append(pixels.mean(axis=0))
        squares.append((pixels**2).mean(axis=0))
    same = _same(ref, "image")
    width, height = np.array([s[0] for s in sizes], float), np.array([s[1] for s in sizes], float)
    out = _media_head("image", len(present), len(cells), len(sample), unreadable)
    for name, numbers in (("width", width), ("height", height), ("aspect", width / np.maximum(height, 1))):
        out[name] = numbers_summary(numbers, ref[name] if same else None)
    if means:
        channel_mean = np.mean(means, axis=0)
        out["channel_mean"] = _floats(channel_mean)
        out["channel_std"] = _floats(np.sqrt(np.maximum(np.mean(squares, axis=0) - channel_mean**2, 0.0)))
    return out


AUDIO_NUMBERS = ("seconds", "rms_dbfs", "centroid_hz")  # clip_profile's, each summarised over the sample


def _audio(values: pd.Series, spec: Any, ref: dict | None, base: Path | None, max_items: int, seed: int) -> dict:
    """A seeded sample of clips, as for images: each clip's duration, and the RMS level and spectral
    centroid of the part the model reads (`clip_profile`); clips that cannot be read are counted."""
    cells = values.astype(object).to_numpy()
    present, sample = _sampled(cells, max_items, seed)
    root = normalized_root(base)
    numbers, unreadable = [], 0
    for i in sample:
        try:
            numbers.append(clip_profile(read_clip(cells[i], root), spec.max_seconds))
        except AudioProblem:
            unreadable += 1
    same = _same(ref, "audio")
    out = _media_head("audio", len(present), len(cells), len(sample), unreadable)
    for name in AUDIO_NUMBERS:
        out[name] = numbers_summary(np.array([n[name] for n in numbers], float), ref[name] if same else None)
    return out


def _sampled(cells: np.ndarray, max_items: int, seed: int) -> tuple[list[int], list[int]]:
    """The positions of the non-empty cells, and a seeded sample of at most `max_items` of them."""
    present = [i for i, c in enumerate(cells) if not _empty(c)]
    rng = np.random.default_rng(seed)
    sample = sorted(rng.choice(present, size=min(max_items, len(present)), replace=False)) if present else []
    return present, sample


def _media_head(modality: str, count: int, rows: int, sampled: int, unreadable: int) -> dict:
    return {
        **_head(modality, count, rows),
        "sampled": sampled,
        "unreadable": unreadable,
        "unreadable_rate": _rate(unreadable, sampled),
    }


def _datetime(values: pd.Series, spec: Any, ref: dict | None) -> dict:
    present = parse_dates(values, spec.datetime_format)[0].dropna()  # an unreadable date counts as missing
    out = _head("datetime", len(present), len(values))
    if len(present):
        out.update(min=present.min().isoformat(), max=present.max().isoformat())
    return out


def _embedding(name: str, matrix: np.ndarray, rows: int) -> dict:
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != rows:
        raise InputError(f"embeddings['{name}'] has shape {matrix.shape}; give one row per frame row: ({rows}, d)")
    norms = np.linalg.norm(matrix, axis=1)
    keep = np.isfinite(norms) & (norms > 0)  # a missing cell's row (zeros or NaN) has no direction
    unit = matrix[keep] / norms[keep, None]
    if len(unit) == 0:
        return {"dim": int(matrix.shape[1]), "count": 0}
    centroid = unit.mean(axis=0)
    direction = centroid / max(np.linalg.norm(centroid), 1e-12)
    return {
        "dim": int(matrix.shape[1]),
        "count": len(unit),
        "centroid": _floats(centroid),
        "spread": float(np.mean(1.0 - unit @ direction)),
    }


def _present(values: pd.Series, spec: Any, ref: dict | None) -> dict:
    """A modality this module has no statistics for: only its missing rate."""
    return _head(spec.modality, int(values.notna().sum()), len(values))


def _timeseries(values: pd.Series, spec: Any, ref: dict | None) -> dict:
    """The series' lengths and, per channel, each series' mean value (`summary_features`)."""
    cells = values.astype(object)
    summary = summary_features(cells, spec.channels)
    present = summary[:, -1] > 0
    same = _same(ref, "timeseries")
    out = {**_head("timeseries", int(present.sum()), len(cells))}
    out["length"] = numbers_summary(summary[present, -1], ref["length"] if same else None)
    channels = (summary.shape[1] - 1) // len(SUMMARY)
    out["channel_mean"] = [
        numbers_summary(
            summary[:, c * len(SUMMARY)], ref["channel_mean"][c] if same and c < len(ref["channel_mean"]) else None
        )
        for c in range(channels)
    ]
    return out


_BY_MODALITY = {
    "numerical": _numerical,
    "categorical": _categorical,
    "text": _text,
    "datetime": _datetime,
    "timeseries": _timeseries,
}
_BY_TASK = {"regression": _numerical, "classification": _categorical, "multilabel": _multilabel}


def _empty(cell: Any) -> bool:
    if isinstance(cell, (bytes, bytearray, memoryview, dict)):
        return False
    return cell is None or (isinstance(cell, str) and not cell.strip()) or (not isinstance(cell, str) and pd.isna(cell))


def _same(ref: dict | None, modality: str) -> bool:
    return bool(ref) and ref.get("modality") == modality and bool(ref.get("count"))


def _head(modality: str, count: int, rows: int) -> dict:
    return {"modality": modality, "count": int(count), "missing_rate": _rate(rows - count, rows)}


def _rate(part: int, whole: int) -> float:
    return float(part / whole) if whole else 0.0


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float)]
