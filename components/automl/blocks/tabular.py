"""Structured-data blocks: CategoricalToNumerical and StructuredDataBlock.

Both rest on `TableEncoder`, a layer that turns a raw table row (float, or
strings when some columns are categorical) into standardised numbers plus
one-hot categories, with every statistic fitted on the training data and
stored in the layer config, so an exported model takes raw values.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from components.automl.blocks.general import Block, DenseBlock
from components.automl.blocks.numeric import encode_numeric_columns, numeric_width
from components.automl.nodes import CATEGORICAL, DATETIME
from components.errors import InputError

# Days to add per month in Sakamoto's weekday formula (0 = Sunday).
_MONTH_OFFSETS = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4]
_WIDTH = {DATETIME: 5}


@keras.saving.register_keras_serializable(package="braid")
class TableEncoder(keras.layers.Layer):
    """Raw table row → float features.

    Args:
        columns: one dict per column: `name`, `type` ("numerical"/"categorical"/"datetime"),
            `mean`, `std` (numerical; the year's for datetime) or `vocabulary` (categorical).
            Numerical columns may also carry `edges` (quantile bins: piecewise-linear encoding),
            `zero` / `missing` (indicator features) and `log` (signed log1p first); see
            `blocks.numeric`. A datetime column ("YYYY-MM-DD" strings) gives five features: the scaled
            year and the sine and cosine of the month and of the weekday (zeros when missing).
        string_input: True when the input is a string matrix of raw values.
    """

    def __init__(self, columns: list[dict], string_input: bool, **kwargs: Any):
        super().__init__(**kwargs)
        self.columns = columns
        self.string_input = string_input
        self.lookups = [
            keras.layers.StringLookup(vocabulary=list(c["vocabulary"]), output_mode="one_hot", num_oov_indices=1)
            if c["type"] == CATEGORICAL
            else None
            for c in columns
        ]

    def build(self, input_shape):
        self.built = True

    def call(self, x):
        numeric = [i for i, c in enumerate(self.columns) if c["type"] not in (CATEGORICAL, DATETIME)]
        if len(numeric) == len(self.columns):
            return self._numeric(x, numeric)
        encoded = {}
        if numeric:
            widths = [numeric_width(self.columns[i]) for i in numeric]
            encoded = dict(zip(numeric, tf.split(self._numeric(x, numeric), widths, axis=-1)))
        parts = []
        for i, (column, lookup) in enumerate(zip(self.columns, self.lookups)):
            values = x[:, i]
            if i in encoded:
                parts.append(encoded[i])
            elif lookup is not None:
                parts.append(tf.cast(lookup(values), "float32"))
            else:
                parts.append(_date_features(values, column["mean"], column["std"]))
        return tf.concat(parts, axis=-1)

    def _numeric(self, x, numeric: list[int]):
        """The numerical columns' features, encoded together (`encode_numeric_columns`)."""
        values = x if len(numeric) == len(self.columns) else tf.gather(x, numeric, axis=1)
        if self.string_input:
            # Missing cells arrive as "" and become NaN: the column mean plus a missing indicator.
            values = tf.where(tf.strings.length(tf.strings.strip(values)) == 0, "nan", values)
            values = tf.strings.to_number(values, tf.float32)
        return encode_numeric_columns(values, [self.columns[i] for i in numeric])

    def compute_output_shape(self, input_shape):
        width = sum(
            len(c["vocabulary"]) + 1
            if c["type"] == CATEGORICAL
            else _WIDTH[c["type"]]
            if c["type"] in _WIDTH
            else numeric_width(c)
            for c in self.columns
        )
        return (input_shape[0], width)

    def get_config(self):
        return {**super().get_config(), "columns": self.columns, "string_input": self.string_input}


def _date_features(values, year_mean: float, year_std: float):
    """ "YYYY-MM-DD" strings → [scaled year, sin/cos month, sin/cos weekday]; zeros where missing."""
    present = tf.strings.length(values) >= 10
    safe = tf.where(present, values, "2000-01-01")
    year = tf.strings.to_number(tf.strings.substr(safe, 0, 4), tf.int32)
    month = tf.strings.to_number(tf.strings.substr(safe, 5, 2), tf.int32)
    day = tf.strings.to_number(tf.strings.substr(safe, 8, 2), tf.int32)
    y = year - tf.cast(month < 3, tf.int32)
    offset = tf.gather(tf.constant(_MONTH_OFFSETS, tf.int32), month - 1)
    weekday = tf.math.floormod(y + y // 4 - y // 100 + y // 400 + offset + day, 7)
    month_angle = 2 * np.pi * tf.cast(month - 1, "float32") / 12
    weekday_angle = 2 * np.pi * tf.cast(weekday, "float32") / 7
    features = tf.stack(
        [
            (tf.cast(year, "float32") - year_mean) / year_std,
            tf.sin(month_angle),
            tf.cos(month_angle),
            tf.sin(weekday_angle),
            tf.cos(weekday_angle),
        ],
        axis=-1,
    )
    return tf.where(present[:, None], features, tf.zeros_like(features))


class CategoricalToNumerical(Block):
    """Encode a table: numerical columns standardised, categorical columns one-hot."""

    accepts = ("structured",)

    def build(self, hp, inputs, sources):
        source = sources[0]
        if source is None or "columns" not in source.stats:
            raise InputError(f"{type(self).__name__} {self.name} must be fed directly by a StructuredDataInput.")
        return TableEncoder(source.stats["columns"], string_input=source.is_string)(inputs[0])


class StructuredDataBlock(Block):
    """Table encoder: CategoricalToNumerical followed by a DenseBlock.

    Args:
        categorical_encoding: encode categorical columns; must be True (raw strings can't be used otherwise).
        normalize: standardise numerical columns; True when None.
    """

    accepts = ("structured",)

    def __init__(
        self,
        categorical_encoding: bool = True,
        normalize: bool | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        self.categorical_encoding, self.normalize = categorical_encoding, normalize

    def build(self, hp, inputs, sources):
        encoder = CategoricalToNumerical()
        encoder.name = f"{self.name}/encoder"
        x = encoder.build(hp, inputs, sources)
        dense = DenseBlock()
        dense.name = f"{self.name}/dense"
        return dense.build(hp, [x], [None])
