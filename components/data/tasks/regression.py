"""Regression: a number per row; stored raw (the head standardises), NaN when missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components import evaluation
from components.data.modalities import TransformContext, float_feature
from components.data.tasks.base import TaskCodec
from components.features.numerical import MeanVariance, coerce_numbers
from components.features.registry import TASKS


@TASKS.register
class Regression(TaskCodec):
    """The raw value (the head standardises); train mean/std are recorded for it."""

    name = "regression"
    head = "RegressionHead"

    def head_options(self, fitted, target):
        return {"mask_missing": target.allows_missing}

    def fitter(self, spec) -> MeanVariance:
        return MeanVariance()

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        numbers, bad = coerce_numbers(values)
        missing = int(np.isnan(numbers).sum())
        if missing:
            ctx.issues[f"{spec.name}: missing or non-numeric target (encoded NaN)"] += missing
        return numbers.astype(np.float32)

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([], tf.float32)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([], tf.float32)

    def known(self, y: np.ndarray) -> np.ndarray:
        return ~np.isnan(y)

    def decode_outputs(self, outputs, classes, thresholds, separator, name):
        return {name: outputs.reshape(len(outputs), -1)[:, 0]}

    def scored(self, predictions, name, labels, separator):
        return predictions[name].to_numpy(dtype=np.float64)

    def plot(self, name, report, y_true, predictions, out: Path) -> Path:
        known = ~np.isnan(y_true)
        return evaluation.plot_predicted_vs_actual(
            y_true[known], predictions[name].to_numpy()[known], out, filename=f"{name}_predicted_vs_actual.png"
        )
