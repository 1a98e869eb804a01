"""Text features: cleaned to valid UTF-8 and stored as strings; the train token vocabulary is kept.

The model's text block tokenises the string itself; the vocabulary fitted here (top `max_tokens`
by frequency on train) is recorded in the state so a block can adapt without another data pass.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from components.data.modalities.base import Codec, TransformContext
from components.data.spec import Encoder, EncodersField, FeatureSpec
from components.features.registry import MODALITIES
from components.features.text import MAX_TOKENS, TokenCounts, clean_text


class TextFeature(FeatureSpec):
    """A free-text column."""

    modality: Literal["text"] = "text"
    max_tokens: int = Field(MAX_TOKENS, gt=0)  # vocabulary size of the text encoder
    sequence_length: int = Field(128, gt=0)  # tokens a sequence encoder reads
    encoders: list[Encoder] = EncodersField  # pretrained first: the strong choice


@MODALITIES.register
class Text(Codec):
    """Its own x key (the feature's name): a `tf.string` scalar per row."""

    name = "text"
    options = TextFeature
    blank = ""
    slot = "text"
    library_input = "TextInput"

    def library_block(self, spec) -> tuple[str, dict]:
        return "TextBlock", {"max_tokens": spec.max_tokens, "sequence_length": spec.sequence_length}

    def fitter(self, spec) -> TokenCounts:
        return TokenCounts(spec.max_tokens)

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        return np.array([clean_text(v) for v in values.astype(object)], dtype=object)

    def tf_feature(self, stored):
        import tensorflow as tf

        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[stored.encode("utf-8")]))

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([], tf.string, default_value="")

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([], tf.string)

    def parquet_columns(self, spec, fitted, transformed):
        return {spec.name: pa.array(list(transformed), pa.string())}
