"""Categorical features, encoded by cardinality (`components.features.categorical.encoding`): a column
with few training values is one-hot over all of them plus an out-of-vocabulary slot; a column with many
takes one tabular slot holding the value's index in a frequency-cut vocabulary (its length: the shared
bucket), which the network's table encoder embeds."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from components.data.modalities.base import Codec, TransformContext, float_feature
from components.data.spec import FeatureSpec
from components.features.categorical import (
    EMBEDDING,
    MAX_CATEGORIES,
    MAX_EMBEDDED,
    MIN_COUNT,
    OOV,
    Frequencies,
    bucket_note,
    category_strings,
)
from components.features.registry import MODALITIES


class CategoricalFeature(FeatureSpec):
    """A column of categories."""

    modality: Literal["categorical"] = "categorical"
    max_categories: int = Field(MAX_CATEGORIES, gt=0)  # one-hot up to this many training values; more: embedded
    max_embedded: int = Field(MAX_EMBEDDED, gt=0)  # an embedded column's vocabulary at most
    min_count: int = Field(MIN_COUNT, gt=0)  # an embedded value is seen this often on train


def _embedded(fitted: dict) -> bool:
    return fitted.get("encoding") == EMBEDDING


@MODALITIES.register
class Categorical(Codec):
    """One-hot over the vocabulary plus one out-of-vocabulary slot, or (many values) one index slot."""

    name = "categorical"
    options = CategoricalFeature

    def fitter(self, spec) -> Frequencies:
        return Frequencies(spec.max_categories, spec.max_embedded, spec.min_count)

    def columns(self, spec, fitted: dict) -> list[str]:
        if _embedded(fitted):
            return [f"{spec.name}#index"]
        return [f"{spec.name}={value}" for value in fitted["vocabulary"]] + [f"{spec.name}={OOV}"]

    def category_indices(self, spec, fitted: dict) -> dict[str, list[str]]:
        if _embedded(fitted):
            return {self.columns(spec, fitted)[0]: list(fitted["vocabulary"])}
        return {}

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        vocabulary = fitted["vocabulary"]
        index = {value: i for i, value in enumerate(vocabulary)}
        oov = len(vocabulary)
        categories = category_strings(values)
        codes = np.array([index.get(v, oov) for v in categories], dtype=np.int64)
        unseen = sum(1 for v in categories if v is not None and v not in index)
        if unseen:
            ctx.issues[bucket_note(spec.name, fitted)] += unseen
        if _embedded(fitted):
            return codes[:, None].astype(np.float32)
        return np.eye(oov + 1, dtype=np.float32)[codes]

    def _width(self, fitted: dict) -> int:
        return 1 if _embedded(fitted) else len(fitted["vocabulary"]) + 1

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([self._width(fitted)], tf.float32)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([self._width(fitted)], tf.float32)
