"""Target codecs, one per task: classification, multilabel, regression.

Each learns its encoding from the TRAIN rows (classes, label list, mean/std) and encodes y the way
the heads expect: class index (int64), multi-hot (float32 [L]) or the raw value (float32).
Rows with a missing or unknown target are encoded as -1 (classification) or NaN (regression) and
counted in the context's issues; an empty multilabel cell is the empty label set (all zeros).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import tensorflow as tf

from components.data.contract import parse_labels
from components.errors import ContractError, DataError
from components.data.modalities import Codec, TransformContext, float_feature, prune
from components.data.modalities.categorical import category_strings
from components.data.modalities.numerical import coerce_numbers, _MeanVariance


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


class _ClassCounts:
    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def update(self, values: pd.Series) -> None:
        self.counts.update(v for v in category_strings(values) if v is not None)
        prune(self.counts, 100_000)

    def finalize(self) -> dict:
        return {"classes": sorted(self.counts), "counts": dict(sorted(self.counts.items()))}


class Classification(Codec):
    name = "classification"

    def fitter(self, spec) -> _ClassCounts:
        return _ClassCounts()

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        index = {c: i for i, c in enumerate(fitted["classes"])}
        classes = category_strings(values)
        missing = sum(1 for c in classes if c is None)
        unknown = sum(1 for c in classes if c is not None and c not in index)
        if missing:
            ctx.issues[f"{spec.name}: missing target (encoded -1)"] += missing
        if unknown:
            ctx.issues[f"{spec.name}: class not seen in train (encoded -1)"] += unknown
        return np.array([index.get(c, -1) for c in classes], dtype=np.int64)

    def tf_feature(self, stored) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(stored)]))

    def parse_spec(self, spec, fitted):
        return tf.io.FixedLenFeature([], tf.int64)

    def tensor_spec(self, spec, fitted):
        return tf.TensorSpec([], tf.int64)


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


class Multilabel(Codec):
    name = "multilabel"

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

    def tf_feature(self, stored) -> tf.train.Feature:
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        return tf.io.FixedLenFeature([len(fitted["labels"])], tf.float32)

    def tensor_spec(self, spec, fitted):
        return tf.TensorSpec([len(fitted["labels"])], tf.float32)

    def parquet_columns(self, spec, fitted, transformed):
        width = transformed.shape[1]
        flat = pa.array(transformed.reshape(-1), pa.float32())
        return {spec.name: pa.FixedSizeListArray.from_arrays(flat, width)}


class Regression(Codec):
    """The raw value (the head standardises); train mean/std are recorded for it."""

    name = "regression"

    def fitter(self, spec) -> _MeanVariance:
        return _MeanVariance()

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        numbers, bad = coerce_numbers(values)
        missing = int(np.isnan(numbers).sum())
        if missing:
            ctx.issues[f"{spec.name}: missing or non-numeric target (encoded NaN)"] += missing
        return numbers.astype(np.float32)

    def tf_feature(self, stored) -> tf.train.Feature:
        return float_feature(stored)

    def parse_spec(self, spec, fitted):
        return tf.io.FixedLenFeature([], tf.float32)

    def tensor_spec(self, spec, fitted):
        return tf.TensorSpec([], tf.float32)


_TASKS: dict[str, Codec] = {codec.name: codec for codec in (Classification(), Multilabel(), Regression())}


def codec_for_target(target) -> Codec:
    """The codec of a contract target (by its `task`)."""
    try:
        return _TASKS[target.task]
    except KeyError:
        raise ContractError(f"target '{target.name}': no task '{target.task}' (known: {sorted(_TASKS)})") from None
