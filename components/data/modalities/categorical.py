"""Categorical features: top-`max_categories` vocabulary from train, one-hot with an OOV slot."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from components.data.modalities.base import Codec, TransformContext, float_feature
from components.data.spec import FeatureSpec
from components.features.categorical import MAX_CATEGORIES, OOV, Frequencies, category_strings
from components.features.registry import MODALITIES


def _bucket_note(name: str, fitted: dict) -> str:
    """What happened to a category outside the one-hot vocabulary: cut off by `max_categories` (a
    category of train rarer than the kept ones) or never seen on train."""
    kept, distinct = len(fitted["vocabulary"]), fitted.get("distinct_in_train", 0)
    if distinct > kept:
        return (
            f"{name}: {distinct:,} values on train; the {kept} most frequent one-hot encoded, the rest share one bucket"
        )
    return f"{name}: category not seen on train (the one-hot out-of-vocabulary bucket)"


class CategoricalFeature(FeatureSpec):
    """A column of categories."""

    modality: Literal["categorical"] = "categorical"
    max_categories: int = Field(MAX_CATEGORIES, gt=0)  # the most frequent ones on train; the rest share one slot


@MODALITIES.register
class Categorical(Codec):
    """One-hot over the vocabulary plus one out-of-vocabulary slot (unseen, rare or missing values)."""

    name = "categorical"
    options = CategoricalFeature

    def fitter(self, spec) -> Frequencies:
        return Frequencies(spec.max_categories)

    def columns(self, spec, fitted: dict) -> list[str]:
        return [f"{spec.name}={value}" for value in fitted["vocabulary"]] + [f"{spec.name}={OOV}"]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        vocabulary = fitted["vocabulary"]
        index = {value: i for i, value in enumerate(vocabulary)}
        oov = len(vocabulary)
        categories = category_strings(values)
        codes = np.array([index.get(v, oov) for v in categories], dtype=np.int64)
        unseen = sum(1 for v in categories if v is not None and v not in index)
        if unseen:
            ctx.issues[_bucket_note(spec.name, fitted)] += unseen
        return np.eye(oov + 1, dtype=np.float32)[codes]

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([len(fitted["vocabulary"]) + 1], tf.float32)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([len(fitted["vocabulary"]) + 1], tf.float32)
