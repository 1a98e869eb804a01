"""Numeric column encodings fitted on training data: signed log for heavy tails, standardisation,
piecewise-linear encoding over quantile bins, and indicators for missing and (frequent) zero values.

Piecewise-linear encoding (Gorishniy et al., 2022, "On Embeddings for Numerical Features in Tabular
Deep Learning"): with bin edges `b_0 < ... < b_K` from training quantiles, bin `k` of value `x` is
`clip((x - b_k) / (b_{k+1} - b_k), 0, 1)` — 1 for bins below x, the fraction inside its own bin, 0
above. A small network then fits step-like, tree-like functions of the value in a few epochs, which
a single standardised input cannot.

A column's statistics are a plain dict (JSON in the layer config), so exported models take raw values;
`components.features.numerical.numeric_stats` fits them.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def numeric_width(column: dict) -> int:
    """Features one numeric column becomes."""
    width = 1 + max(len(column.get("edges", [])) - 1, 0)
    return width + int(column.get("zero", False)) + int(column.get("missing", False))


def encode_numeric(values, column: dict):
    """`[B]` float values (NaN for missing) → `[B, numeric_width(column)]` features."""
    values = tf.cast(values, "float32")
    known = tf.math.is_finite(values)
    safe = tf.where(known, values, tf.zeros_like(values))
    if column.get("log"):
        safe = tf.sign(safe) * tf.math.log1p(tf.abs(safe))
    scaled = (safe - column["mean"]) / column["std"]
    # Missing values sit at the mean (0 after scaling); their indicator says they were missing.
    parts = [tf.where(known, scaled, tf.zeros_like(scaled))[:, None]]
    edges = column.get("edges", [])
    if len(edges) >= 2:
        low = tf.constant(edges[:-1], "float32")
        width = tf.constant(np.maximum(np.diff(edges), 1e-9), "float32")
        bins = tf.clip_by_value((safe[:, None] - low[None, :]) / width[None, :], 0.0, 1.0)
        parts.append(tf.where(known[:, None], bins, tf.zeros_like(bins)))
    if column.get("zero"):
        parts.append(tf.cast(known & tf.equal(values, 0.0), "float32")[:, None])
    if column.get("missing"):
        parts.append(tf.cast(~known, "float32")[:, None])
    return tf.concat(parts, axis=-1)
