"""Multi-label: a set of labels per row; stored multi-hot over the train labels (empty cell = empty set)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from components import evaluation
from components.data.contract import parse_labels
from components.data.modalities import TransformContext, float_feature
from components.data.tasks.base import PROBA_SUFFIX, TaskCodec
from components.errors import DataError
from components.features.multilabel import LabelCounts, decide, label_sets, multi_hot
from components.features.registry import TASKS


def label_lists(spec, values: pd.Series, ctx: TransformContext | None = None) -> list[list[str] | None]:
    """Each multilabel cell as its labels (None when empty), read the way the target says
    (`separator`, `list_format`/`list_key`: the contract's `parse_labels`)."""
    out = []
    for position, value in enumerate(values.astype(object)):
        try:
            out.append(parse_labels(value, spec))
        except (ValueError, SyntaxError, TypeError) as exc:
            where = f"row {ctx.row_id(position)!r}, " if ctx is not None else ""
            raise DataError(
                f"{where}column '{spec.name}': cannot read labels from {str(value)[:80]!r} ({exc}); "
                "check the target's separator / list_format / list_key"
            ) from None
    return out


@TASKS.register
class Multilabel(TaskCodec):
    name = "multilabel"
    head = "ClassificationHead"

    def head_options(self, fitted, target):
        return {"multi_label": True, "num_classes": len(fitted["labels"])}

    def fitter(self, spec) -> LabelCounts:
        return LabelCounts(getattr(spec, "max_labels", None), read=lambda values: label_lists(spec, values))

    def columns(self, spec, fitted):
        return [f"{spec.name}={label}" for label in fitted["labels"]]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        # An empty cell is an empty label set (CSV writers leave "" for it), not a problem.
        out, unseen = multi_hot(label_lists(spec, values, ctx), fitted["labels"])
        if unseen:
            ctx.issues[f"{spec.name}: label not seen in train (dropped)"] += sum(unseen.values())
        return out

    def tf_feature(self, stored):
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([len(fitted["labels"])], tf.float32)

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([len(fitted["labels"])], tf.float32)

    def parquet_columns(self, spec, fitted, transformed):
        width = transformed.shape[1]
        flat = pa.array(transformed.reshape(-1), pa.float32())
        return {spec.name: pa.FixedSizeListArray.from_arrays(flat, width)}

    def names(self, fitted: dict) -> list[str]:
        return list(fitted["labels"])

    def evaluate_kwargs(self, fitted: dict) -> dict:
        return {"labels": fitted["labels"]}

    def decode_outputs(self, outputs, classes, thresholds, separator, name):
        chosen = label_sets(decide(outputs, thresholds), classes)
        return {
            name: [separator.join(labels) for labels in chosen],
            name + PROBA_SUFFIX: [row.tolist() for row in outputs],
        }

    def scored(self, predictions, name, labels, separator):
        # Score the label sets the model answers (its own tuned thresholds), not raw probabilities.
        return label_sets_to_multi_hot(predictions[name], labels, separator)

    def plot(self, name, report, y_true, predictions, out: Path) -> Path:
        return evaluation.plot_per_label_f1(report.per_label_f1, report.names, out, filename=f"{name}_per_label_f1.png")


def label_sets_to_multi_hot(cells: pd.Series, labels: list[str], separator: str) -> np.ndarray:
    """ "a|c" cells → multi-hot rows over `labels` (unknown labels can't occur: the model names them)."""
    hot, _ = multi_hot((str(cell).split(separator) if cell else [] for cell in cells), labels)
    return hot.astype(np.float64)
