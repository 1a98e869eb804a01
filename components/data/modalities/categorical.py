"""Categorical features: top-`max_categories` vocabulary from train, one-hot with an OOV slot."""

from __future__ import annotations

from collections import Counter
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from components.data.modalities import (
    Codec,
    TransformContext,
    float_feature,
    prune,
    register,
)
from components.data.spec import FeatureSpec

OOV = "<oov>"


def category_strings(values: pd.Series) -> list[str | None]:
    """Categories as stripped strings; 3.0 and "3" are the same category, missing is None."""

    def one(value) -> str | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = str(value).strip()
        return text or None

    return [one(v) for v in values.astype(object)]


class _Frequencies:
    def __init__(self, max_categories: int) -> None:
        self.max_categories = max_categories
        self.counts: Counter = Counter()

    def update(self, values: pd.Series) -> None:
        self.counts.update(v for v in category_strings(values) if v is not None)
        prune(self.counts, max(10_000, 20 * self.max_categories))

    def finalize(self) -> dict:
        # Ties break alphabetically so the same data always gives the same vocabulary.
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "vocabulary": [value for value, _ in ranked[: self.max_categories]],
            "distinct_in_train": len(self.counts),
        }


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
    max_categories: int = Field(50, gt=0)  # the most frequent ones on train; the rest share one slot


@register
class Categorical(Codec):
    """One-hot over the vocabulary plus one out-of-vocabulary slot (unseen, rare or missing values)."""

    name = "categorical"
    options = CategoricalFeature

    def fitter(self, spec) -> _Frequencies:
        return _Frequencies(spec.max_categories)

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
