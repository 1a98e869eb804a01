"""tf.data readers: shapes and dtypes as the signature says, shuffling, and clear errors."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from components.data.contract import load_contract
from components.data.demo import write_demo_data
from components.data.preprocess import preprocess
from components.data.records import (
    input_signature,
    load_manifest,
    load_state,
    make_dataset,
    read_tabular,
    tabular_columns,
)
from components.errors import DataError
from components.layout import Layout

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def directory(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("records")
    csv_path = write_demo_data(base / "raw", n_rows=50, image_size=32)
    contract = load_contract(ROOT / "data_contracts" / "demo.yaml")
    source = contract.source.model_copy(update={"path": csv_path, "image_root": csv_path.parent / "images"})
    contract = contract.model_copy(update={"source": source})
    return preprocess(contract, Layout(base / "home"), data_hash="r", shard_rows=10).directory


def test_batches_match_the_input_signature(directory: Path):
    state = load_state(directory)
    x_spec, y_spec = input_signature(state)
    assert x_spec["image"] == tf.TensorSpec([32, 32, 3], tf.uint8)
    assert x_spec["description"] == tf.TensorSpec([], tf.string)
    assert x_spec["tabular"].shape[0] == len(tabular_columns(state)) == 24  # the date: 9 parts with its time index
    assert y_spec == {
        "kind": tf.TensorSpec([], tf.int64), "score": tf.TensorSpec([], tf.float32), "tags": tf.TensorSpec([5], tf.float32)
    }  # fmt: skip
    dataset = make_dataset(directory, "train", batch_size=8)
    x_batch, y_batch = dataset.element_spec
    for key, spec in {**x_spec, **y_spec}.items():
        batched = (x_batch | y_batch)[key]
        assert batched.shape.as_list() == [None, *spec.shape.as_list()] and batched.dtype == spec.dtype
    x, y = next(iter(dataset))
    assert x["image"].shape == (8, 32, 32, 3) and y["kind"].shape == (8,)


def test_tabular_columns_name_each_slot(directory: Path):
    columns = tabular_columns(load_state(directory))
    assert columns[:4] == ["price", "price__missing", "weight", "weight__missing"]
    assert "color=<oov>" in columns and columns[-1] == "listed_on__missing"
    frame = read_tabular(directory, "train")
    assert set(columns) <= set(frame.columns) and "image" not in frame.columns


def test_shuffled_repeated_dataset_covers_the_same_rows(directory: Path):
    rows = load_manifest(directory).rows["train"]
    ordered = np.concatenate([y["score"].numpy() for _, y in make_dataset(directory, "train", batch_size=16)])
    shuffled = make_dataset(directory, "train", batch_size=rows, shuffle=True, seed=1, repeat=True)
    first, second = [y["score"].numpy() for _, y in shuffled.take(2)]
    assert len(ordered) == rows and len(first) == rows
    np.testing.assert_array_equal(np.sort(first), np.sort(ordered))
    assert not np.array_equal(first, ordered) or not np.array_equal(second, ordered)


def test_incomplete_directory_and_unknown_split_are_data_errors(directory: Path, tmp_path: Path):
    with pytest.raises(DataError, match="manifest.json: not found"):
        make_dataset(tmp_path, "train")
    with pytest.raises(DataError, match="split 'training' does not exist"):
        make_dataset(directory, "training")
