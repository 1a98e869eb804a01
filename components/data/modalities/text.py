"""Text features: cleaned to valid UTF-8 and stored as strings; the train token vocabulary is kept.

The model's text block tokenises the string itself; the vocabulary fitted here (top `max_tokens`
by frequency on train) is recorded in the state so a block can adapt without another data pass.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field

from components.data.modalities import Codec, TransformContext, prune, register
from components.data.spec import Encoder, EncodersField, FeatureSpec

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value) -> str:
    """One cell as valid UTF-8 text: bytes decoded with replacement, control characters and
    surplus whitespace removed, missing as ""."""
    if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)):
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    # Lone surrogates (from badly decoded files) cannot be encoded; replace them.
    value = str(value).encode("utf-8", errors="replace").decode("utf-8")
    return " ".join(_CONTROL.sub(" ", value).split())


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class _TokenCounts:
    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.counts: Counter = Counter()
        self.rows, self.empty, self.total_tokens = 0, 0, 0

    def update(self, values: pd.Series) -> None:
        for value in values.astype(object):
            words = tokens(clean_text(value))
            self.rows += 1
            self.empty += not words
            self.total_tokens += len(words)
            self.counts.update(words)
        prune(self.counts, max(100_000, 10 * self.max_tokens))

    def finalize(self) -> dict:
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "vocabulary": [word for word, _ in ranked[: self.max_tokens]],
            "rows": self.rows,
            "empty": self.empty,
            "mean_tokens": self.total_tokens / self.rows if self.rows else 0.0,
        }


class TextFeature(FeatureSpec):
    """A free-text column."""

    modality: Literal["text"] = "text"
    max_tokens: int = Field(20_000, gt=0)  # vocabulary size of the text encoder
    sequence_length: int = Field(128, gt=0)  # tokens a sequence encoder reads
    encoders: list[Encoder] = EncodersField  # pretrained first: the strong choice


@register
class Text(Codec):
    """Its own x key (the feature's name): a `tf.string` scalar per row."""

    name = "text"
    options = TextFeature
    slot = "text"

    def fitter(self, spec) -> _TokenCounts:
        return _TokenCounts(spec.max_tokens)

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
