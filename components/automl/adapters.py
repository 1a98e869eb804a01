"""Turn what users pass to `fit`/`predict` (arrays, DataFrames, dicts, tf.data) into checked datasets.

Everything becomes an *unbatched* `tf.data.Dataset` of `(x, y)` dicts keyed by
input and head names; one pass (`analyse`) learns input statistics and target
encodings, and `encode` maps raw examples to what the model trains on.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf

from components.automl.heads import ClassificationHead, Head
from components.automl.nodes import (
    CATEGORICAL,
    DATETIME,
    NUMERICAL,
    AudioInput,
    ImageInput,
    InputNode,
    StructuredDataInput,
    TextInput,
    TimeseriesInput,
)
from components.errors import DataError, InputError
from components.features.audio import AudioProblem, clip_source, decode_audio, mel_stats, proposed_seconds, waveform
from components.features.categorical import EMBEDDING, ONE_HOT, embedding_dim, encoding
from components.features.datetime import YearStats, parse_dates, part_names
from components.features.image import pixel_stats
from components.features.multilabel import LabelCounts, multi_hot
from components.features.numerical import moments, numeric_stats
from components.features.text import MAX_TOKENS
from components.features.timeseries import SeriesProblem, padded, parse_series, proposed_length, series_stats

MAX_NGRAMS = 20000
SAMPLE_ROWS = {"image": 1000, "text": 20000, "structured": 50000, "vector": 50000, "timeseries": 20000, "audio": 1000}


def as_list(value: Any, names: list[str], what: str, allow_dict: bool = True) -> list:
    """Lists in node order, dicts keyed by name, or a single value for a single node → list."""
    if isinstance(value, dict) and allow_dict:
        missing = [n for n in names if n not in value]
        if missing:
            raise InputError(f"{what} dict lacks keys {missing}; expected keys {names} (the node/head names).")
        return [value[n] for n in names]
    single_of_many_rows = len(names) == 1 and isinstance(value, (list, tuple)) and len(value) != 1
    if isinstance(value, (list, tuple)) and _is_container_of_arrays(value) and not single_of_many_rows:
        if len(value) != len(names):
            raise InputError(
                f"{what} has {len(value)} entries but the model has {len(names)} ({names}); give one per node, in order."
            )
        return list(value)
    if len(names) != 1:
        raise InputError(f"{what} must be a list of {len(names)} arrays or a dict keyed by {names}.")
    return [value]


def _is_container_of_arrays(value) -> bool:
    return len(value) > 0 and all(
        isinstance(v, (np.ndarray, pd.DataFrame, pd.Series, list, tuple, tf.Tensor, tf.TensorSpec, dict)) for v in value
    )


# ---------- inputs from numpy / pandas ----------


def convert_input(node: InputNode, value: Any, fitting: bool) -> np.ndarray:
    if isinstance(node, ImageInput):
        array = np.asarray(value.to_numpy() if isinstance(value, (pd.DataFrame, pd.Series)) else value)
        if array.ndim == 3:
            array = array[..., None]
        if array.ndim != 4 or array.dtype.kind not in "uif":
            raise InputError(
                f"Image input {node.name!r} needs a numeric array (N, H, W, C) or (N, H, W); got shape {array.shape}, dtype {array.dtype}."
            )
        if node.shape is not None and not fitting and tuple(array.shape[1:]) != tuple(node.shape):
            raise InputError(f"Image input {node.name!r} was trained on shape {node.shape}; got {array.shape[1:]}.")
        return array
    if isinstance(node, TextInput):
        if isinstance(value, pd.DataFrame):
            if value.shape[1] != 1:
                raise InputError(f"Text input {node.name!r} needs one column; the DataFrame has {list(value.columns)}.")
            value = value.iloc[:, 0]
        array = np.asarray(value.to_numpy() if isinstance(value, pd.Series) else value, dtype=object)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise InputError(
                f"Text input {node.name!r} needs one string per example, shape (N,) or (N, 1); got {array.shape}."
            )
        return np.asarray(
            ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in array], dtype=str
        )
    if isinstance(node, StructuredDataInput):
        return convert_table(node, value, fitting)
    if isinstance(node, TimeseriesInput):
        return convert_series(node, value)
    if isinstance(node, AudioInput):
        return convert_audio(node, value)
    array = np.asarray(value, dtype="float32")
    if array.ndim == 1:
        array = array[:, None]
    return array


def convert_series(node: TimeseriesInput, value: Any) -> np.ndarray:
    """Series as given → float32 `[N, T, C]`, NaN where no value; T is the trained length once fitted
    (longer series cropped, shorter ones padded), else `max_length` or what the data gives."""
    if isinstance(value, pd.DataFrame):
        if value.shape[1] != 1:
            raise InputError(
                f"Timeseries input {node.name!r} needs one column; the DataFrame has {list(value.columns)}."
            )
        value = value.iloc[:, 0]
    if isinstance(value, pd.Series):
        value = list(value.astype(object))
    array = value if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" else None
    if array is not None:
        array = array[..., None] if array.ndim == 2 else array
        if array.ndim != 3:
            raise InputError(
                f"Timeseries input {node.name!r} needs (N, T, C) or (N, T) numbers, or a list of series; got shape {array.shape}."
            )
        series = list(array.astype("float64"))
    else:
        series = []
        for row, cell in enumerate(value):
            try:
                series.append(parse_series(cell))
            except SeriesProblem as problem:
                raise DataError(f"Timeseries input {node.name!r}, row {row}: the series {problem}.") from None
        widths = {s.shape[1] for s in series if len(s)}
        if len(widths) > 1:
            raise DataError(f"Timeseries input {node.name!r}: series have different channel counts {sorted(widths)}.")
        channels = widths.pop() if widths else (node.shape[1] if node.shape else 1)
        series = [s if len(s) else np.zeros((0, channels)) for s in series]
    channels = series[0].shape[1] if series else (node.shape[1] if node.shape else 1)
    if node.shape is not None and channels != node.shape[1]:
        raise InputError(f"Timeseries input {node.name!r} was trained on {node.shape[1]} channel(s); got {channels}.")
    if node.shape is not None:
        length = node.shape[0]
    elif node.max_length is not None:
        length = node.max_length
    elif array is not None:
        length = array.shape[1]
    else:
        length = proposed_length(Counter(len(s) for s in series))
    return padded(series, length, channels)


def convert_audio(node: AudioInput, value: Any) -> np.ndarray:
    """Clips as given → float32 `[N, samples]` waveforms at the node's rate; the length is the trained one
    once fitted, else `max_seconds` or what the data gives (an array's length, the clips' 95th percentile)."""
    if isinstance(value, pd.DataFrame):
        if value.shape[1] != 1:
            raise InputError(f"Audio input {node.name!r} needs one column; the DataFrame has {list(value.columns)}.")
        value = value.iloc[:, 0]
    if isinstance(value, pd.Series):
        value = list(value.astype(object))
    length = node.shape[0] if node.shape else _seconds_length(node, node.max_seconds)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        array = value[..., 0] if value.ndim == 3 and value.shape[-1] == 1 else value
        if array.ndim != 2:
            raise InputError(
                f"Audio input {node.name!r} needs waveforms (N, samples) or a list of clips; got shape {value.shape}."
            )
        length = length or array.shape[1]
        out = np.zeros((len(array), length), dtype="float32")
        out[:, : min(length, array.shape[1])] = array[:, :length]
        return out
    clips = []
    for row, cell in enumerate(value):
        try:
            clips.append(decode_audio(clip_source(cell)))
        except AudioProblem as problem:
            raise DataError(f"Audio input {node.name!r}, row {row}: the clip {problem}.") from None
    length = length or _seconds_length(node, proposed_seconds([clip.seconds for clip in clips]))
    out = np.zeros((len(clips), length), dtype="float32")
    for row, clip in enumerate(clips):
        out[row] = waveform(clip, node.sample_rate, length)
    return out


def _seconds_length(node: AudioInput, seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * node.sample_rate)


def convert_table(node: StructuredDataInput, value: Any, fitting: bool) -> np.ndarray:
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if not isinstance(value, pd.DataFrame):
        array = np.asarray(value)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise InputError(f"Structured input {node.name!r} needs a 2-D table (N, columns); got shape {array.shape}.")
        names = node.column_names or [f"column_{i}" for i in range(array.shape[1])]
        if len(names) != array.shape[1]:
            raise InputError(
                f"Structured input {node.name!r} has column_names {names} but the array has {array.shape[1]} columns."
            )
        value = pd.DataFrame(array, columns=names)
    if fitting and node.shape is None:
        names = node.column_names or [str(c) for c in value.columns]
        types = {n: node.column_types.get(n) or _infer_type(value[n] if n in value else None) for n in names}
        node.column_names, node.column_types = names, types
    missing = [c for c in node.column_names if c not in value.columns]
    if missing:
        raise DataError(f"Structured input {node.name!r} lacks columns {missing}; it expects {node.column_names}.")
    if node.shape is None:
        node.dtype = "string" if any(_needs_strings(node, n, value.get(n)) for n in node.column_names) else "float32"
        node.shape = (len(node.column_names),)
    frame = value[node.column_names]
    if not node.is_string:
        try:
            return frame.to_numpy(dtype="float32")
        except (TypeError, ValueError) as error:
            raise DataError(
                f"Structured input {node.name!r}: a numerical column holds non-numbers ({error}); mark it categorical in column_types."
            ) from None
    columns = []
    for name in node.column_names:
        column = frame[name]
        if node.column_types[name] == NUMERICAL:
            numbers = pd.to_numeric(column, errors="coerce")
            bad = numbers.isna() & column.notna() & (column.astype(str).str.strip() != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"Structured input {node.name!r}, column {name!r}, row {row}: {column.iloc[row]!r} is not a number; mark the column categorical or fix the value."
                )
            columns.append(np.asarray([repr(float(v)) for v in numbers.to_numpy(dtype="float64")], dtype=object))
        elif node.column_types[name] == DATETIME:
            columns.append(iso_dates(column, node.name, name))
        else:
            columns.append(
                np.asarray(["" if _missing(v) else str(v) for v in column.to_numpy(dtype=object)], dtype=object)
            )
    return np.stack(columns, axis=1).astype(str)


def _needs_strings(node: StructuredDataInput, name: str, column: pd.Series | None) -> bool:
    """Whether the column makes the table a string matrix: dates and categories do, except numbers that
    index a given vocabulary."""
    kind = node.column_types[name]
    if kind == CATEGORICAL and name in node.vocabularies and column is not None:
        return not pd.api.types.is_numeric_dtype(column)
    return kind in (CATEGORICAL, DATETIME)


def iso_dates(column: pd.Series, node_name: str, name: str) -> np.ndarray:
    """A datetime column → "YYYY-MM-DD" strings, "YYYY-MM-DD HH:MM" where the time is not midnight ("" where
    missing), what the model parses."""
    dates, bad = parse_dates(column, "mixed")
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Structured input {node_name!r}, column {name!r}, row {row}: {column.iloc[row]!r} is not a date; "
            "fix the value or mark the column categorical."
        )
    return np.asarray(
        ["" if pd.isna(d) else d.strftime("%Y-%m-%d %H:%M" if d.hour or d.minute else "%Y-%m-%d") for d in dates],
        dtype=object,
    )


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _infer_type(column) -> str:
    if column is None:
        return NUMERICAL
    if pd.api.types.is_datetime64_any_dtype(column):
        return DATETIME
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        numbers = pd.to_numeric(column, errors="coerce")
        if column.dtype == object and numbers.notna().sum() == column.notna().sum() and column.notna().any():
            return NUMERICAL
        return CATEGORICAL
    return NUMERICAL


# ---------- targets ----------


def convert_target(head: Head, value: Any, fitting: bool, other: Any = None) -> np.ndarray:
    """Targets as given → an array the head encodes; label lists become multi-hot rows.

    Args:
        other: when fitting, further targets given to `fit` (validation data): labels that only
            appear there still become classes of a multi-label head.
    """
    if isinstance(value, (pd.DataFrame, pd.Series)):
        value = value.to_numpy()
    if isinstance(head, ClassificationHead) and head.multi_label:
        array = np.asarray(value, dtype=object) if _is_label_lists(value) else np.asarray(value)
        if array.dtype == object and array.ndim == 1:
            if fitting:
                counts = LabelCounts()
                counts.add(list(array) + (list(other) if _is_label_lists(other) else []))
                head.classes = counts.finalize()["labels"]
                head.label_format = "lists"
            hot, unseen = multi_hot(array, head.classes)
            if unseen:
                warnings.warn(
                    f"Head {head.name!r} got labels never seen in fit ({sorted(unseen)[:10]}); "
                    "they count as labels the model did not predict.",
                    stacklevel=3,
                )
            return hot
        return array
    array = np.asarray(value)
    if array.dtype == object:
        try:
            array = array.astype(float if not isinstance(head, ClassificationHead) else str)
        except (TypeError, ValueError):
            array = array.astype(str)
    return array


def _is_label_lists(value) -> bool:
    return isinstance(value, (list, np.ndarray)) and len(value) > 0 and isinstance(value[0], (list, tuple, set))


# ---------- building datasets ----------


def from_arrays(
    inputs: list[InputNode],
    heads: list[Head],
    x: Any,
    y: Any | None,
    fitting: bool,
    what: str = "x",
    other_y: Any = None,
):
    """Arrays / DataFrames / dicts → (dict of input arrays, dict of target arrays or None), checked.

    `other_y`: the validation targets when fitting, whose label lists are labels too.
    """
    values = as_list(x, [n.name for n in inputs], what)
    xs = {n.name: convert_input(n, v, fitting) for n, v in zip(inputs, values)}
    lengths = {name: len(a) for name, a in xs.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"{what} inputs have different numbers of rows: {lengths}.")
    ys = None
    if y is not None:
        targets = as_list(y, [h.name for h in heads], "y")
        others = (
            as_list(other_y, [h.name for h in heads], "validation y") if other_y is not None else [None] * len(heads)
        )
        ys = {h.name: convert_target(h, t, fitting, o) for h, t, o in zip(heads, targets, others)}
        for name, array in ys.items():
            if len(array) != next(iter(lengths.values())):
                raise InputError(
                    f"y[{name!r}] has {len(array)} rows but {what} has {next(iter(lengths.values()))}; give one target per example."
                )
    if next(iter(lengths.values())) == 0:
        raise DataError(f"{what} is empty; give at least one example.")
    return xs, ys


def split_arrays(xs: dict, ys: dict, fraction: float, heads: list[Head] = ()):
    """A `fraction` of the rows as validation data: drawn at random with a fixed seed, stratified on the
    first single-label classification head, so that every class is learned and validated in its share.

    Keras takes the last rows, which is right only for shuffled data: on MNIST rows sorted by digit the
    last fifth held 8s and 9s alone, the search chose on two classes and its best trial scored 0.86.
    A validation row whose class the training part would lack still trades places with a training row
    that can be spared, so every class is learned where the data allows."""
    if not 0 < fraction < 1:
        raise InputError(f"validation_split={fraction}; use a fraction between 0 and 1, or pass validation_data.")
    n = len(next(iter(xs.values())))
    held = max(1, int(round(n * fraction)))
    if n - held < 1:
        raise DataError(
            f"Only {n} examples: too few to keep {fraction:.0%} for validation; pass more data or validation_data."
        )
    order = np.random.default_rng(0).permutation(n)
    labels = _class_labels(ys, heads)
    if labels:
        column = next(iter(labels.values()))
        val = _stratified(order, [column[i] for i in order], held)
    else:
        val = order[n - held :]
    chosen = set(int(i) for i in val)
    train, val = _keep_classes_in_training(ys, heads, [i for i in range(n) if i not in chosen], sorted(chosen))
    rows = lambda d, index: {k: v[index] for k, v in d.items()}  # noqa: E731
    return (rows(xs, train), rows(ys, train)), (rows(xs, val), rows(ys, val))


def _stratified(order: np.ndarray, labels: list[str], held: int) -> list[int]:
    """Exactly `held` rows of `order` (a permutation): each class its share, keeping a row for training,
    then the next rows of the permutation, those whose class can spare one first."""
    by_class: dict[str, list[int]] = {}
    for row, label in zip(order, labels):
        by_class.setdefault(label, []).append(int(row))
    share = held / len(order)
    chosen = {row for rows in by_class.values() for row in rows[: min(int(len(rows) * share), len(rows) - 1)]}
    training = {label: len(rows) - len(chosen.intersection(rows)) for label, rows in by_class.items()}
    for spare_only in (True, False):  # when every class is down to one row, rows of any class
        for row, label in zip(order, labels):
            if len(chosen) >= held:
                return sorted(chosen)
            if int(row) not in chosen and (training[label] > 1 or not spare_only):
                chosen.add(int(row))
                training[label] -= 1
    return sorted(chosen)


def _class_labels(ys: dict, heads) -> dict[str, list[str]]:
    """Each single-label classification head's targets as strings."""
    labels = {}
    for head in heads:
        y = ys[head.name]
        if isinstance(head, ClassificationHead) and not head.multi_label and (y.ndim == 1 or y.shape[1] == 1):
            labels[head.name] = [str(v) for v in y.reshape(len(y))]
    return labels


def _keep_classes_in_training(ys: dict, heads, train: list[int], val: list[int]) -> tuple[np.ndarray, np.ndarray]:
    labels = _class_labels(ys, heads)
    if labels:
        counts = {name: {} for name in labels}
        for name, column in labels.items():
            for i in train:
                counts[name][column[i]] = counts[name].get(column[i], 0) + 1
        for position, row in enumerate(list(val)):
            if all(counts[name].get(column[row], 0) > 0 for name, column in labels.items()):
                continue
            # The latest training row whose every label is there at least twice can go to validation.
            spare = next(
                (i for i in reversed(train) if all(counts[name][column[i]] > 1 for name, column in labels.items())),
                None,
            )
            if spare is None:
                break
            train[train.index(spare)], val[position] = row, spare
            for name, column in labels.items():
                counts[name][column[spare]] -= 1
                counts[name][column[row]] = counts[name].get(column[row], 0) + 1
    return np.asarray(sorted(train)), np.asarray(sorted(val))


def from_tf_dataset(
    inputs: list[InputNode], heads: list[Head], dataset: tf.data.Dataset, with_targets: bool
) -> tf.data.Dataset:
    """A user dataset (tuples or dicts, batched or not) → unbatched dicts keyed by names."""
    spec = dataset.element_spec
    if with_targets:
        if not isinstance(spec, tuple) or len(spec) < 2:
            raise InputError("A training tf.data.Dataset must yield (x, y) pairs.")
        x_spec = spec[0]
    else:
        x_spec = spec[0] if isinstance(spec, tuple) and len(spec) == 2 and not _is_x_tuple(spec, inputs) else spec
    input_names = [n.name for n in inputs]
    head_names = [h.name for h in heads]
    x_specs = as_list(x_spec, input_names, "dataset x")
    batched = _is_batched(inputs[0], x_specs[0])

    def to_dicts(*element):
        if with_targets or (isinstance(spec, tuple) and len(spec) == 2 and not _is_x_tuple(spec, inputs)):
            x, y = element[0], element[1]
        else:
            x, y = (element[0] if len(element) == 1 else element), None
        xd = dict(zip(input_names, as_list(x, input_names, "dataset x")))
        if not with_targets:
            return xd
        return xd, dict(zip(head_names, as_list(y, head_names, "dataset y")))

    dataset = dataset.map(to_dicts)
    return dataset.unbatch() if batched else dataset


def _is_x_tuple(spec, inputs) -> bool:
    return len(inputs) == 2 and isinstance(spec, tuple) and not isinstance(spec[0], (tuple, dict))


def _is_batched(node: InputNode, spec) -> bool:
    rank = len(spec.shape)
    if isinstance(node, ImageInput):
        return rank == 4
    if isinstance(node, TextInput):
        return rank >= 1 and spec.shape[0] is None
    if isinstance(node, TimeseriesInput):
        return rank == 3
    if isinstance(node, AudioInput):
        return rank == 2
    return rank >= 2


def count(dataset: tf.data.Dataset) -> int:
    known = int(dataset.cardinality())
    if known >= 0:
        return known
    return int(
        dataset.batch(1024).reduce(
            np.int64(0), lambda n, batch: n + tf.cast(tf.shape(tf.nest.flatten(batch)[0])[0], tf.int64)
        )
    )


# ---------- one pass over the data ----------


@dataclass
class Analysis:
    rows: int = 0
    targets: dict[str, np.ndarray] = field(default_factory=dict)


def analyse(
    inputs: list[InputNode],
    heads: list[Head],
    dataset: tf.data.Dataset,
    fitting: bool,
    other_targets: dict | None = None,
    check: bool = True,
) -> Analysis:
    """One pass: count rows, gather all targets and a sample of each input; fit nodes and heads when `fitting`.

    Args:
        other_targets: when fitting, the validation targets (`Analysis.targets` of that part): classes
            seen only there are classes too.
        check: when not fitting, check the targets against what the heads learned.
    """
    samples: dict[str, list] = {n.name: [] for n in inputs}
    targets: dict[str, list] = {h.name: [] for h in heads}
    kept = {n.name: 0 for n in inputs}
    rows = 0
    for x, y in dataset.batch(512).as_numpy_iterator():
        rows += len(next(iter(x.values())))
        for node in inputs:
            if kept[node.name] < SAMPLE_ROWS[node.kind]:
                samples[node.name].append(x[node.name])
                kept[node.name] += len(x[node.name])
        for head in heads:
            targets[head.name].append(y[head.name])
    if rows == 0:
        raise DataError("The dataset is empty; give at least one example.")
    result = Analysis(rows=rows)
    for head in heads:
        array = np.concatenate(targets[head.name])
        if array.dtype.kind in "SO":
            array = np.asarray(
                [v.decode() if isinstance(v, bytes) else v for v in array.reshape(-1)], dtype=str
            ).reshape(array.shape)
        result.targets[head.name] = array
        if fitting and isinstance(head, ClassificationHead):
            head.fit_targets(array, (other_targets or {}).get(head.name))
        elif fitting:
            head.fit_targets(array)
    if not fitting and check:
        check_targets(heads, result.targets)
    if fitting:
        for node in inputs:
            fit_node(node, np.concatenate(samples[node.name]))
    return result


def check_targets(heads: list[Head], targets: dict) -> None:
    """Validation targets must be usable by the fitted heads: no NaN, no label outside the classes."""
    for head in heads:
        array = targets[head.name]
        if array.dtype.kind == "f" and np.isnan(array[head.present(array)]).any():
            raise DataError(f"Validation targets of head {head.name!r} contain NaN; drop or fill those rows.")
        if isinstance(head, ClassificationHead) and head.label_kind != "multi_hot":
            head.encode_numpy(array)


def fit_node(node: InputNode, sample: np.ndarray) -> None:
    """Learn the input's shape, dtype and statistics from a training sample."""
    if isinstance(node, ImageInput):
        if sample.ndim == 3:
            sample = sample[..., None]
        if sample.ndim != 4:
            raise InputError(
                f"Image input {node.name!r} needs (H, W, C) images; got examples of shape {sample.shape[1:]}."
            )
        node.shape, node.dtype = tuple(int(d) for d in sample.shape[1:]), "float32"
        node.stats = pixel_stats(sample)
    elif isinstance(node, TextInput):
        texts = [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in sample.reshape(-1)]
        node.shape, node.dtype = (), "string"
        node.stats = text_stats(texts)
    elif isinstance(node, StructuredDataInput):
        fit_table(node, sample)
    elif isinstance(node, TimeseriesInput):
        if sample.ndim != 3:
            raise InputError(f"Timeseries input {node.name!r} needs [steps, channels] series; got {sample.shape[1:]}.")
        node.shape, node.dtype = tuple(int(d) for d in sample.shape[1:]), "float32"
        node.stats = series_stats(sample)
    elif isinstance(node, AudioInput):
        if sample.ndim != 2:
            raise InputError(f"Audio input {node.name!r} needs one waveform per example; got {sample.shape[1:]}.")
        node.shape, node.dtype = (int(sample.shape[1]),), "float32"
        node.stats = {"sample_rate": node.sample_rate, **mel_stats(sample, node.sample_rate)}
    else:
        node.shape = tuple(int(d) for d in sample.shape[1:]) or (1,)
        flat = sample.reshape(len(sample), -1).astype("float64")
        node.stats = {"mean": np.nanmean(flat, 0).tolist(), "std": np.maximum(np.nanstd(flat, 0), 1e-6).tolist()}


def text_stats(texts: list[str]) -> dict:
    """Vocabularies learned from the training text: words by frequency (sequence encoders) and
    unigrams + bigrams by document frequency with their smoothed idf (the TF-IDF encoder)."""
    from components.automl.blocks.text import vectorizer

    layer = vectorizer(max_tokens=MAX_TOKENS)
    layer.adapt(tf.constant(texts or [""]))
    vocabulary = [w for w in layer.get_vocabulary()[2:]] or ["[empty]"]
    lengths = [len(t.split()) for t in texts] or [1]
    ngrams, idf = ngram_stats(texts)
    return {
        "vocabulary": vocabulary,
        "sequence_length": int(np.clip(np.percentile(lengths, 95), 8, 256)),
        "ngram_vocabulary": ngrams,
        "ngram_idf": idf,
    }


def ngram_stats(
    texts: list[str], ngrams: int = 2, max_tokens: int = MAX_NGRAMS, min_df: int = 2
) -> tuple[list[str], list[float]]:
    """Unigrams..`ngrams`-grams kept by document frequency (at least `min_df` documents, as a
    TF-IDF model's `min_df`: a term seen once teaches nothing), most frequent first, with the
    smoothed idf `ln((1 + n) / (1 + df)) + 1` (scikit-learn's)."""
    from components.automl.blocks.text import vectorizer

    texts = texts or [""]
    # Tokenised by the same TextVectorization the model uses, so the vocabulary matches exactly.
    layer = vectorizer(max_tokens=max_tokens * 4, ngrams=ngrams)
    layer.adapt(tf.constant(texts))
    candidates = layer.get_vocabulary()[2:]  # past the mask and OOV tokens
    if not candidates:
        return ["[empty]"], [1.0]
    hot = vectorizer(vocabulary=candidates, ngrams=ngrams, output_mode="multi_hot")
    df = np.zeros(len(candidates) + 1, "float64")
    for start in range(0, len(texts), 256):
        df += hot(tf.constant(texts[start : start + 256])).numpy().sum(axis=0)
    df = df[1:]
    order = np.argsort(-df, kind="stable")
    kept = order[df[order] >= min(min_df, df.max())][:max_tokens]
    idf = np.log((1 + len(texts)) / (1 + df[kept])) + 1
    return [candidates[i] for i in kept], [round(float(v), 5) for v in idf]


def fit_table(node: StructuredDataInput, sample: np.ndarray) -> None:
    if sample.ndim != 2:
        raise InputError(f"Structured input {node.name!r} needs rows of shape [columns]; got {sample.shape[1:]}.")
    width = sample.shape[1]
    string = sample.dtype.kind in "SOU"
    if string:
        sample = np.vectorize(
            lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v), otypes=[object]
        )(sample)
    if node.column_names is None:
        node.column_names = [f"column_{i}" for i in range(width)]
    if len(node.column_names) != width:
        raise InputError(
            f"Structured input {node.name!r} has {len(node.column_names)} column_names but rows have {width} values."
        )
    if not node.column_types or set(node.column_types) != set(node.column_names):
        frame = pd.DataFrame(sample, columns=node.column_names)
        node.column_types = {
            n: node.column_types.get(n) or (_infer_type(frame[n].replace("", np.nan)) if string else NUMERICAL)
            for n in node.column_names
        }
    node.shape = (width,)
    node.dtype = "string" if string else "float32"
    columns, plain = [], []
    for i, name in enumerate(node.column_names):
        values = sample[:, i]
        if node.column_types[name] == DATETIME:
            stats = YearStats()
            stats.update(pd.Series(values, dtype=object))
            dates = stats.finalize()
            columns.append(
                {"name": name, "type": DATETIME, "mean": dates["year_mean"], "std": dates["year_std"],
                 "day_min": dates["day_min"], "day_span": dates["day_span"], "parts": part_names(dates)}
            )  # fmt: skip
        elif node.column_types[name] == CATEGORICAL:
            columns.append({"name": name, "type": CATEGORICAL, **_category_encoding(node, name, values, string)})
        else:
            numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64")
            columns.append({"name": name, "type": NUMERICAL, **numeric_stats(numbers)})
            plain.append(moments(numbers))
    node.stats = {"columns": columns}
    if not string:
        # Raw per-column moments, for blocks (Normalization) that standardise the raw row.
        node.stats.update(mean=[m for m, _ in plain], std=[s for _, s in plain])


def _category_encoding(node: StructuredDataInput, name: str, values: np.ndarray, string: bool) -> dict:
    """A categorical column's vocabulary, how it is encoded (`features.categorical.encoding`) and its
    embedding's width; an all-numeric table's categorical column indexes a given vocabulary, embedded."""
    fixed = node.vocabularies.get(name)
    if not string and fixed is None:
        raise InputError(
            f"Structured input {node.name!r}: column {name!r} is categorical but the data is numeric; pass it as "
            "strings, or give its vocabulary (vocabularies=) when the numbers index one."
        )
    if fixed is not None:
        kind = EMBEDDING if not string or len(fixed) > node.max_categories else ONE_HOT
        fitted = {"encoding": kind, "vocabulary": list(fixed)}
    else:
        fitted = encoding(Counter(str(v) for v in values if v != ""), node.max_categories)
    return {
        "vocabulary": fitted["vocabulary"],
        "encoding": fitted["encoding"],
        "dim": embedding_dim(len(fitted["vocabulary"]) + 1),
    }


# ---------- encode for training / prediction ----------


def cast_inputs(inputs: list[InputNode], x: dict) -> dict:
    out = {}
    for node in inputs:
        value = x[node.name]
        if isinstance(node, TextInput):
            value = tf.reshape(value, [])
        elif node.dtype != "string":
            value = tf.cast(value, "float32")
            if isinstance(node, ImageInput) and len(value.shape) == 2:
                value = value[..., None]
        out[node.name] = value
    return out


def encode(inputs: list[InputNode], heads: list[Head], dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Raw (x, y) examples → model-ready examples (float images, encoded targets)."""

    def fn(x, y):
        return cast_inputs(inputs, x), {h.name: h.encode_tensor(y[h.name]) for h in heads}

    return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


def default_batch_size(rows: int) -> int:
    """Enough optimiser steps per epoch for a 5-epoch budget (about 60 or more), a power of two in 16..128.

    On movies (1,905 training rows) 32 instead of 64 raised one trial from 0.573 to 0.588 genres
    micro-F1 and from 0.603 to 0.588 vote MAE (benchmarks/README.md)."""
    return int(np.clip(2 ** int(np.log2(max(rows, 1) / 60)), 16, 128))
