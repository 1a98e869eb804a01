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
    return encode_numeric_columns(tf.reshape(values, [-1, 1]), [column])


def encode_numeric_columns(values, columns: list[dict]):
    """`[B, C]` float values (NaN for missing) → `[B, sum of numeric_width(column)]` features: each column's
    `encode_numeric` in turn, computed for all columns at once (a graph of a few ops, not a few per
    column: every train step, test step and predict of every trial traces it; benchmarks/README.md,
    overhead)."""
    values = tf.cast(values, "float32")
    known = tf.math.is_finite(values)
    safe = tf.where(known, values, tf.zeros_like(values))
    logged = np.array([bool(c.get("log")) for c in columns])
    if logged.any():
        safe = tf.where(logged[None, :], tf.sign(safe) * tf.math.log1p(tf.abs(safe)), safe)
    mean = np.array([c["mean"] for c in columns], "float32")
    std = np.array([c["std"] for c in columns], "float32")
    # Missing values sit at the mean (0 after scaling); their indicator says they were missing.
    parts = [tf.where(known, (safe - mean) / std, tf.zeros_like(safe))]
    layout = [[i] for i in range(len(columns))]  # each column's features, as positions in `parts` concatenated
    width = len(columns)
    binned = [(i, c["edges"]) for i, c in enumerate(columns) if len(c.get("edges", [])) >= 2]
    if binned:
        source = np.concatenate([[i] * (len(edges) - 1) for i, edges in binned])
        low = np.concatenate([edges[:-1] for _, edges in binned]).astype("float32")
        span = np.concatenate([np.maximum(np.diff(edges), 1e-9) for _, edges in binned]).astype("float32")
        bins = tf.clip_by_value((tf.gather(safe, source, axis=1) - low) / span, 0.0, 1.0)
        parts.append(tf.where(tf.gather(known, source, axis=1), bins, tf.zeros_like(bins)))
        for position, i in enumerate(source):
            layout[i].append(width + position)
        width += len(source)
    for flag, indicator in (("zero", known & tf.equal(values, 0.0)), ("missing", ~known)):
        flagged = [i for i, c in enumerate(columns) if c.get(flag)]
        if flagged:
            parts.append(tf.cast(tf.gather(indicator, flagged, axis=1), "float32"))
            for position, i in enumerate(flagged):
                layout[i].append(width + position)
            width += len(flagged)
    features = tf.concat(parts, axis=-1)
    order = [position for column in layout for position in column]
    return features if order == list(range(width)) else tf.gather(features, order, axis=1)
