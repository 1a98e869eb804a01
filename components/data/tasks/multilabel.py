"""Multi-label: a set of labels per row; stored multi-hot over the train labels (empty cell = empty set)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from components import evaluation
from components.data.contract import parse_labels
from components.data.modalities import TransformContext, float_feature, prune
from components.data.tasks.base import PROBA_SUFFIX, TaskCodec
from components.errors import DataError


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


class _LabelCounts:
    def __init__(self, spec) -> None:
        self.spec = spec
        self.counts: Counter = Counter()
        self.rows = 0

    def update(self, values: pd.Series) -> None:
        for labels in label_lists(self.spec, values):
            self.rows += labels is not None
            self.counts.update(set(labels or []))
        prune(self.counts, 100_000)

    def finalize(self) -> dict:
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        max_labels = getattr(self.spec, "max_labels", None)
        kept = sorted(label for label, _ in ranked[:max_labels])
        return {"labels": kept, "counts": {label: self.counts[label] for label in kept}, "rows": self.rows}


class Multilabel(TaskCodec):
    name = "multilabel"
    primary_metric = "micro_f1"

    def fitter(self, spec) -> _LabelCounts:
        return _LabelCounts(spec)

    def columns(self, spec, fitted):
        return [f"{spec.name}={label}" for label in fitted["labels"]]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        index = {label: i for i, label in enumerate(fitted["labels"])}
        out = np.zeros((len(values), len(index)), np.float32)
        for row, labels in enumerate(label_lists(spec, values, ctx)):
            # An empty cell is an empty label set (CSV writers leave "" for it), not a problem.
            for label in labels or []:
                if label in index:
                    out[row, index[label]] = 1.0
                else:
                    ctx.issues[f"{spec.name}: label not seen in train (dropped)"] += 1
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
        chosen = outputs >= np.asarray(thresholds or [0.5] * outputs.shape[1])
        return {
            name: [separator.join(np.asarray(classes)[row].tolist()) for row in chosen],
            name + PROBA_SUFFIX: [row.tolist() for row in outputs],
        }

    def scored(self, predictions, name, labels, separator):
        # Score the label sets the model answers (its own tuned thresholds), not raw probabilities.
        return label_sets_to_multi_hot(predictions[name], labels, separator)

    def plot(self, name, report, y_true, predictions, out: Path) -> Path:
        return evaluation.plot_per_label_f1(report.per_label_f1, report.names, out, filename=f"{name}_per_label_f1.png")


def label_sets_to_multi_hot(cells: pd.Series, labels: list[str], separator: str) -> np.ndarray:
    """ "a|c" cells → multi-hot rows over `labels` (unknown labels can't occur: the model names them)."""
    index = {label: i for i, label in enumerate(labels)}
    out = np.zeros((len(cells), len(labels)), np.float64)
    for row, cell in enumerate(cells):
        for label in str(cell).split(separator) if cell else []:
            if label in index:
                out[row, index[label]] = 1.0
    return out
