"""Structured-data blocks: CategoricalToNumerical and StructuredDataBlock.

Both rest on `TableEncoder`, a layer that turns a raw table row (float, or
strings when some columns are categorical) into standardised numbers, date
parts and one-hot or embedded categories, with every statistic fitted on the
training data and stored in the layer config, so an exported model takes raw values.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from components.automl.blocks.general import Block, DenseBlock
from components.automl.blocks.numeric import encode_numeric_columns, numeric_width
from components.automl.nodes import CATEGORICAL, DATETIME, NUMERICAL
from components.errors import InputError
from components.features.categorical import EMBEDDING
from components.features.datetime import CYCLES

NUMERIC_ENCODINGS = ("piecewise", "standard")  # `CategoricalToNumerical(numeric_encoding=...)`
# What a datetime column became before the time index, day of year and hour (a config without "parts"):
# kept so models exported then load and predict as they did (their weekday counts from Sunday).
_LEGACY_DATE_PARTS = ["year", "month_sin", "month_cos", "sunday_weekday_sin", "sunday_weekday_cos"]


def _embedded(column: dict) -> bool:
    return column["type"] == CATEGORICAL and column.get("encoding") == EMBEDDING


def _width(column: dict) -> int:
    if column["type"] == CATEGORICAL:
        return column["dim"] if _embedded(column) else len(column["vocabulary"]) + 1
    if column["type"] == DATETIME:
        return len(column.get("parts", _LEGACY_DATE_PARTS))
    return numeric_width(column)


@keras.saving.register_keras_serializable(package="braid")
class TableEncoder(keras.layers.Layer):
    """Raw table row → float features.

    Args:
        columns: one dict per column: `name`, `type` ("numerical"/"categorical"/"datetime"),
            `mean`, `std` (numerical; the year's for datetime) or `vocabulary` (categorical).
            Numerical columns may also carry `edges` (quantile bins: piecewise-linear encoding),
            `zero` / `missing` (indicator features) and `log` (signed log1p first); see
            `blocks.numeric`. A categorical column is one-hot over its vocabulary plus one slot for
            everything else, or, with `encoding: "embedding"`, a learned vector of width `dim` per
            vocabulary value plus one shared by the rest (`components.features.categorical`); in a float
            table it holds indices into its vocabulary. A datetime column ("YYYY-MM-DD" or
            "YYYY-MM-DD HH:MM" strings) gives the `parts` of `components.features.datetime` (with
            `day_min` and `day_span` for the time index), zeros when missing but the missing flag.
        string_input: True when the input is a string matrix of raw values.
        piecewise: encode numerical columns over their bins (`edges`); False: standardised alone.
    """

    def __init__(self, columns: list[dict], string_input: bool, piecewise: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.columns = columns
        self.string_input = string_input
        self.piecewise = piecewise
        # what the columns are encoded from: without bins, a numerical column is standardised with its indicators
        self._encoded = columns if piecewise else [{**c, "edges": []} if c["type"] == NUMERICAL else c for c in columns]
        # index 0: outside the vocabulary (the one-hot's first slot, the embedding's shared row). An empty
        # vocabulary (every training value rarer than the embedding's minimum count: an ID-like column of
        # a small table) has no lookup: every value is outside it (`_index` of size 0).
        self.lookups = [
            keras.layers.StringLookup(vocabulary=list(c["vocabulary"]), output_mode="int", num_oov_indices=1)
            if c["type"] == CATEGORICAL and string_input and c["vocabulary"]
            else None
            for c in columns
        ]
        self.embeddings = [
            keras.layers.Embedding(len(c["vocabulary"]) + 1, c["dim"], name=f"embedding_{i}") if _embedded(c) else None
            for i, c in enumerate(columns)
        ]

    def build(self, input_shape):
        for embedding in self.embeddings:
            if embedding is not None:
                embedding.build((None,))
        self.built = True

    def call(self, x):
        numeric = [i for i, c in enumerate(self.columns) if c["type"] not in (CATEGORICAL, DATETIME)]
        if len(numeric) == len(self.columns):
            return self._numeric(x, numeric)
        encoded = {}
        if numeric:
            widths = [numeric_width(self._encoded[i]) for i in numeric]
            encoded = dict(zip(numeric, tf.split(self._numeric(x, numeric), widths, axis=-1)))
        parts = []
        for i, (column, lookup, embedding) in enumerate(zip(self.columns, self.lookups, self.embeddings)):
            values = x[:, i]
            if i in encoded:
                parts.append(encoded[i])
            elif column["type"] == CATEGORICAL:
                if lookup is not None:
                    index = lookup(values)
                elif self.string_input:  # an empty vocabulary: every value outside it
                    index = tf.zeros_like(values, dtype=tf.int64)
                else:
                    index = _index(values, len(column["vocabulary"]))
                if embedding is not None:
                    parts.append(tf.cast(embedding(index), "float32"))
                else:
                    parts.append(tf.one_hot(index, len(column["vocabulary"]) + 1, dtype="float32"))
            else:
                parts.append(_date_features(values, column))
        return tf.concat(parts, axis=-1)

    def _numeric(self, x, numeric: list[int]):
        """The numerical columns' features, encoded together (`encode_numeric_columns`)."""
        values = x if len(numeric) == len(self.columns) else tf.gather(x, numeric, axis=1)
        if self.string_input:
            # Missing cells arrive as "" and become NaN: the column mean plus a missing indicator.
            values = tf.where(tf.strings.length(tf.strings.strip(values)) == 0, "nan", values)
            values = tf.strings.to_number(values, tf.float32)
        return encode_numeric_columns(values, [self._encoded[i] for i in numeric])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], sum(_width(c) for c in self._encoded))

    def get_config(self):
        config = {**super().get_config(), "columns": self.columns, "string_input": self.string_input}
        return {**config, "piecewise": self.piecewise}


def _index(values, size: int):
    """Float indices into a vocabulary of `size` → StringLookup's: 1 + the index, 0 when outside it."""
    index = tf.cast(tf.round(tf.where(tf.math.is_finite(values), values, -1.0)), tf.int64)
    return tf.where((index >= 0) & (index < size), index + 1, tf.zeros_like(index))


def _civil_days(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`)."""
    y = year - tf.cast(month <= 2, tf.int32)
    era = tf.math.floordiv(y, 400)
    yoe = y - era * 400
    doy = (153 * tf.math.floormod(month + 9, 12) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _date_features(values, column: dict):
    """ "YYYY-MM-DD[ HH:MM]" strings → the column's `parts` (`components.features.datetime`)."""
    present = tf.strings.length(values) >= 10
    # a date without a time reads as midnight: padding keeps every substring in range
    safe = tf.strings.join([tf.where(present, values, "2000-01-01"), " 00:00"])

    def number(start: int):
        return tf.strings.to_number(tf.strings.substr(safe, start, 2 if start else 4), tf.int32)

    year, month, day = number(0), number(5), number(8)
    minutes = tf.cast(number(11) * 60 + number(14), "float32")
    days = _civil_days(year, month, day)
    doy = days - _civil_days(year, tf.ones_like(month), tf.ones_like(day))
    parts = {
        "year": (tf.cast(year, "float32") - column["mean"]) / column["std"],
        "time": (tf.cast(days, "float32") + minutes / 1440.0 - column.get("day_min", 0.0))
        / column.get("day_span", 1.0),
    }
    ordinals = {
        "month": tf.cast(month - 1, "float32"),
        "weekday": tf.cast(tf.math.floormod(days + 3, 7), "float32"),  # 1970-01-01, day 0, was a Thursday
        "sunday_weekday": tf.cast(tf.math.floormod(days + 4, 7), "float32"),
        "doy": tf.cast(doy, "float32"),
        "hour": minutes / 60.0,
    }
    for name, value in ordinals.items():
        angle = 2 * np.pi * value / CYCLES.get(name, 7)
        parts[f"{name}_sin"], parts[f"{name}_cos"] = tf.sin(angle), tf.cos(angle)
    known = tf.cast(present, "float32")
    return tf.stack(
        [1.0 - known if n == "missing" else parts[n] * known for n in column.get("parts", _LEGACY_DATE_PARTS)], axis=-1
    )


class CategoricalToNumerical(Block):
    """Encode a table: numerical columns standardised (and over their bins: `numeric_encoding`), categorical
    columns one-hot or embedded (by their cardinality on train), datetime columns as date parts.

    Args:
        numeric_encoding: "piecewise" (standardised value and piecewise-linear bins, `blocks.numeric`) or
            "standard" (the standardised value alone); searched when None, piecewise first. The bins
            let a small network fit step-like functions in a few epochs, and need rows: on breast_cancer
            (364 training rows, 30 smooth measurements) they cost 2-4 of 114 test rows
            (benchmarks/README.md, "table-only data").
    """

    accepts = ("structured",)

    def __init__(self, numeric_encoding: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if numeric_encoding not in (None, *NUMERIC_ENCODINGS):
            raise InputError(
                f"{type(self).__name__} numeric_encoding={numeric_encoding!r}; use one of {list(NUMERIC_ENCODINGS)}."
            )
        self.numeric_encoding = numeric_encoding

    def build(self, hp, inputs, sources):
        source = sources[0]
        if source is None or "columns" not in source.stats:
            raise InputError(f"{type(self).__name__} {self.name} must be fed directly by a StructuredDataInput.")
        columns = source.stats["columns"]
        piecewise = True
        if any(c["type"] == NUMERICAL and len(c.get("edges", [])) >= 2 for c in columns):
            piecewise = (
                self.choice(hp, "numeric_encoding", self.numeric_encoding, list(NUMERIC_ENCODINGS)) == "piecewise"
            )
        return TableEncoder(columns, string_input=source.is_string, piecewise=piecewise)(inputs[0])


class StructuredDataBlock(Block):
    """Table encoder: CategoricalToNumerical followed by a DenseBlock.

    Args:
        categorical_encoding: encode categorical columns; must be True (raw strings can't be used otherwise).
        normalize: standardise numerical columns; True when None.
        numeric_encoding: "piecewise" or "standard" (`CategoricalToNumerical`); searched when None.
    """

    accepts = ("structured",)

    def __init__(
        self,
        categorical_encoding: bool = True,
        normalize: bool | None = None,
        numeric_encoding: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        self.categorical_encoding, self.normalize = categorical_encoding, normalize
        self.numeric_encoding = numeric_encoding

    def build(self, hp, inputs, sources):
        encoder = CategoricalToNumerical(self.numeric_encoding)
        encoder.name = f"{self.name}/encoder"
        x = encoder.build(hp, inputs, sources)
        dense = DenseBlock()
        dense.name = f"{self.name}/dense"
        return dense.build(hp, [x], [None])
