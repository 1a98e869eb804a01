"""Classification: one class per row; stored as the class index (-1 when missing or unseen in train)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from components import evaluation, imbalance
from components.data.modalities import TransformContext
from components.data.tasks.base import PROBA_SUFFIX, TaskCodec
from components.features.categorical import category_strings
from components.features.classification import ClassCounts, decide, probabilities
from components.features.registry import TASKS


@TASKS.register
class Classification(TaskCodec):
    name = "classification"
    truth_dtype = np.int64
    stratifies = True
    head = "ClassificationHead"

    def head_options(self, fitted, target):
        # -1 codes a missing target and a class the train split lacks (`transform`): a validation row of
        # either adds nothing to this head's loss and metrics. Train rows are -1 only where the contract
        # lets the target be missing, so masking always is what `masked` says there.
        return {
            "num_classes": len(fitted["classes"]),
            "mask_missing": True,
            "class_weight": target.class_weight,
            "threshold": target.threshold,
        }

    def fitter(self, spec) -> ClassCounts:
        return ClassCounts()

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        index = {c: i for i, c in enumerate(fitted["classes"])}
        classes = category_strings(values)
        missing = sum(1 for c in classes if c is None)
        if missing:
            ctx.issues[f"{spec.name}: missing target (encoded -1)"] += missing
        for unknown, rows in Counter(c for c in classes if c is not None and c not in index).items():
            ctx.issues[f"{spec.name}: class {unknown!r} not seen in train (encoded -1)"] += rows
        return np.array([index.get(c, -1) for c in classes], dtype=np.int64)

    def tf_feature(self, stored):
        import tensorflow as tf

        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(stored)]))

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([], tf.int64)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([], tf.int64)

    def names(self, fitted: dict) -> list[str]:
        return list(fitted["classes"])

    def evaluate_kwargs(self, fitted: dict) -> dict:
        return {"classes": fitted["classes"]}

    def primary(self, fitted: dict) -> str:
        # A constant answer wins accuracy when a class is rare; it cannot win macro-F1.
        if imbalance.is_imbalanced(list(fitted.get("counts", {}).values())):
            return imbalance.IMBALANCED_METRIC
        return super().primary(fitted)

    def known(self, y: np.ndarray) -> np.ndarray:
        return y >= 0

    def strata(self, values: pd.Series) -> list:
        return category_strings(values)

    def unseen(self, fitted: dict, values: pd.Series) -> list:
        known = set(fitted["classes"])
        return [c if c is not None and c not in known else None for c in category_strings(values)]

    def as_wrong(self, y_true, y_pred, unseen, decisions=None):
        truth = np.array(y_true, copy=True)
        proba = np.asarray(y_pred)
        least = proba.argmin(axis=1)
        if decisions is not None:  # a tuned threshold may have answered the least likely class
            least = np.where(least == decisions, (decisions + 1) % proba.shape[1], least)
        truth[unseen] = least[unseen]
        return truth

    def decode_outputs(self, outputs, classes, thresholds, separator, name):
        proba = probabilities(outputs)
        chosen = decide(proba, thresholds)
        return {name: [classes[i] for i in chosen], name + PROBA_SUFFIX: [row.tolist() for row in proba]}

    def scored(self, predictions, name, labels, separator):
        return np.asarray(predictions[name + PROBA_SUFFIX].tolist(), dtype=np.float64)

    def decisions(self, predictions, name, labels):
        index = {str(label): i for i, label in enumerate(labels)}
        return np.asarray([index.get(str(label), -1) for label in predictions[name]], dtype=np.int64)

    def plot(self, name, report, y_true, predictions, out: Path) -> Path:
        return evaluation.plot_confusion_matrix(
            report.confusion_matrix, report.names, out, filename=f"{name}_confusion_matrix.png"
        )
