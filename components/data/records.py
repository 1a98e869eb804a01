"""tf.data readers over preprocessed shards, shaped for the model's inputs and heads.

`make_dataset(directory, split)` yields batched `(x, y)`:
    x: {image feature: uint8 [H, W, 3], text feature: tf.string [], "tabular": float32 [D]}
    y: {classification target: int64 [], multilabel target: float32 [L], regression target: float32 []}
(each with a leading batch dimension). `tabular_columns(state)` names the D slots of "tabular".

Example:
    >>> train = make_dataset(result.directory, "train", batch_size=32, shuffle=True, repeat=True)
    >>> x, y = next(iter(train))
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import tensorflow as tf

from components.data.state import SPLITS, PreprocessState, load_manifest, load_state
from components.errors import DataError

TABULAR = "tabular"


def tabular_columns(state: PreprocessState) -> list[str]:
    """Name of each slot of x["tabular"], in order (e.g. "price", "price__missing", "color=red")."""
    return state.tabular_columns()


def input_signature(state: PreprocessState) -> tuple[dict[str, tf.TensorSpec], dict[str, tf.TensorSpec]]:
    """Unbatched (x, y) specs: key → shape and dtype of what `make_dataset` yields per row."""
    x: dict[str, tf.TensorSpec] = {}
    width = 0
    for spec, codec, fitted in state.feature_specs():
        if codec.slot == TABULAR:
            width += codec.tensor_spec(spec, fitted).shape[0]
        else:
            x[spec.name] = codec.tensor_spec(spec, fitted)
    if width:
        x[TABULAR] = tf.TensorSpec([width], tf.float32)
    for column in state.embeddings:
        x[column.name] = tf.TensorSpec([column.fitted["dim"]], tf.float32)
    y = {spec.name: codec.tensor_spec(spec, fitted) for spec, codec, fitted in state.target_specs()}
    return x, y


def example_parser(state: PreprocessState):
    """A function: a batch of serialised tf.train.Examples → (x, y) dicts of batched tensors.

    Parsing whole batches (one `parse_example` call) costs far less per row than parsing rows one
    by one; images are then decoded row by row inside the batch.
    """
    features = state.feature_specs()
    targets = state.target_specs()
    parse_spec = {spec.name: codec.parse_spec(spec, fitted) for spec, codec, fitted in features + targets}
    parse_spec.update({c.name: tf.io.FixedLenFeature([c.fitted["dim"]], tf.float32) for c in state.embeddings})

    def parse(serialized: tf.Tensor) -> tuple[dict, dict]:
        parsed = tf.io.parse_example(serialized, parse_spec)
        x, tabular = {}, []
        for spec, codec, fitted in features:
            value = codec.decode_batch(spec, fitted, parsed[spec.name])
            if codec.slot == TABULAR:
                tabular.append(value)
            else:
                x[spec.name] = value
        if tabular:
            x[TABULAR] = tf.concat(tabular, axis=-1)
        for column in state.embeddings:
            x[column.name] = parsed[column.name]
        y = {spec.name: codec.decode_batch(spec, fitted, parsed[spec.name]) for spec, codec, fitted in targets}
        return x, y

    return parse


def make_dataset(directory: str | Path, split: str, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0,
                 repeat: bool = False) -> tf.data.Dataset:  # fmt: skip
    """Batched (x, y) from one split's shards.

    Args:
        directory: a preprocessed directory (`PreprocessResult.directory`).
        split: "train", "val" or "test".
        batch_size: rows per batch (the last batch may be smaller).
        shuffle: shuffle shard order and rows (with `seed`); without it rows come in the order
            `split_ids` gives, so predictions line up with ids.
        seed: shuffle seed.
        repeat: repeat forever (for `steps_per_epoch` training).

    Returns:
        A `tf.data.Dataset` of `(x, y)` dicts, described by `input_signature(load_state(directory))`.
    """
    if split not in SPLITS:
        raise DataError(f"split '{split}' does not exist; use one of {list(SPLITS)}")
    directory = Path(directory)
    manifest, state = load_manifest(directory), load_state(directory)
    files = [str(directory / path) for path in manifest.files(split)]
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(files, dtype=tf.string, shape=[len(files)]))
    if shuffle:
        dataset = dataset.shuffle(max(1, len(files)), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.interleave(
            tf.data.TFRecordDataset, cycle_length=min(4, max(1, len(files))), num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,  # the same seed must give the same order: reproducible searches
        )  # fmt: skip
        dataset = dataset.shuffle(max(1024, 8 * batch_size), seed=seed, reshuffle_each_iteration=True)
    else:
        # One file after another keeps the order of split_ids; parsing below is still parallel.
        dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=1, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(example_parser(state), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def split_ids(directory: str | Path, split: str) -> list[str]:
    """Row ids of a split in the order `make_dataset(..., shuffle=False)` yields them."""
    directory = Path(directory)
    manifest, state = load_manifest(directory), load_state(directory)
    ids: list[str] = []
    for path in manifest.files(split, "parquet"):
        ids += pq.read_table(directory / path, columns=[state.id_column]).column(0).to_pylist()
    return ids


def read_tabular(directory: str | Path, split: str) -> pd.DataFrame:
    """The tabular Parquet rows of a split (id, text, tabular columns, encoded targets), in order."""
    directory = Path(directory)
    paths = [directory / p for p in load_manifest(directory).files(split, "parquet")]
    if not paths:
        return pd.DataFrame()
    return pd.concat([pq.read_table(p).to_pandas() for p in paths], ignore_index=True)
