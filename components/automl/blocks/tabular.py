"""Structured-data blocks: CategoricalToNumerical and StructuredDataBlock.

Both rest on `TableEncoder`, a layer that turns a raw table row (float, or
strings when some columns are categorical) into standardised numbers plus
one-hot categories, with every statistic fitted on the training data and
stored in the layer config, so an exported model takes raw values.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from components.automl.blocks.general import Block
from components.automl.blocks.general import DenseBlock
from components.automl.blocks.numeric import encode_numeric, numeric_width
from components.errors import InputError
from components.automl.nodes import CATEGORICAL


@keras.saving.register_keras_serializable(package="braid")
class TableEncoder(keras.layers.Layer):
    """Raw table row → float features.

    Args:
        columns: one dict per column: `name`, `type` ("numerical"/"categorical"),
            `mean`, `std` (numerical) or `vocabulary` (categorical). Numerical columns may also
            carry `edges` (quantile bins: piecewise-linear encoding), `zero` / `missing`
            (indicator features) and `log` (signed log1p first); see `blocks.numeric`.
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
        parts = []
        for i, (column, lookup) in enumerate(zip(self.columns, self.lookups)):
            values = x[:, i]
            if lookup is not None:
                parts.append(tf.cast(lookup(values), "float32"))
                continue
            if self.string_input:
                # Missing cells arrive as "" and become NaN: the column mean plus a missing indicator.
                values = tf.where(tf.strings.length(tf.strings.strip(values)) == 0, "nan", values)
                values = tf.strings.to_number(values, tf.float32)
            parts.append(encode_numeric(values, column))
        return tf.concat(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        width = sum(len(c["vocabulary"]) + 1 if c["type"] == CATEGORICAL else numeric_width(c) for c in self.columns)
        return (input_shape[0], width)

    def get_config(self):
        return {**super().get_config(), "columns": self.columns, "string_input": self.string_input}


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
