"""Bad input fails fast, before training, with a project exception that says what to fix."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import components as ak
from components.errors import DataError, InputError


def two_head_model(tmp_path, **kwargs):
    return ak.AutoModel(
        inputs=[ak.ImageInput(name="image"), ak.StructuredDataInput(name="table")],
        outputs=[ak.RegressionHead(name="value"), ak.ClassificationHead(name="label")],
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
        **kwargs,
    )


def data(num=20):
    rng = np.random.default_rng(0)
    return [rng.random((num, 8, 8, 3)), rng.random((num, 4))], [rng.random(num), rng.integers(0, 3, num)]


def test_wrong_number_of_inputs_or_targets(tmp_path):
    x, y = data()
    with pytest.raises(InputError, match="has 1 entries but the model has 2"):
        two_head_model(tmp_path).fit([x[0]], y)
    with pytest.raises(InputError, match="y has 3 entries"):
        two_head_model(tmp_path).fit(x, y + [y[0]])


def test_length_mismatch_between_inputs_and_targets(tmp_path):
    x, y = data()
    with pytest.raises(InputError, match="different numbers of rows"):
        two_head_model(tmp_path).fit([x[0][:10], x[1]], y)
    with pytest.raises(InputError, match=r"y\['label'\] has 10 rows"):
        two_head_model(tmp_path).fit(x, [y[0], y[1][:10]])


def test_wrong_image_shape(tmp_path):
    x, y = data()
    with pytest.raises(InputError, match="Image input 'image'"):
        two_head_model(tmp_path).fit([np.zeros((20, 8)), x[1]], y)


def test_nan_targets_and_strings_to_regression(tmp_path):
    x, y = data()
    bad = y[0].copy()
    bad[3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        two_head_model(tmp_path).fit(x, [bad, y[1]])
    with pytest.raises(DataError, match="non-numeric"):
        two_head_model(tmp_path).fit(x, [np.array(["a"] * 20), y[1]])


def test_empty_data(tmp_path):
    with pytest.raises(DataError, match="empty"):
        two_head_model(tmp_path).fit([np.zeros((0, 8, 8, 3)), np.zeros((0, 4))], [np.zeros(0), np.zeros(0)])
    empty = tf.data.Dataset.from_tensor_slices(
        ((np.zeros((0, 8, 8, 3), "float32"), np.zeros((0, 4), "float32")), (np.zeros(0), np.zeros(0, "int64")))
    )
    with pytest.raises(DataError, match="empty"):
        two_head_model(tmp_path).fit(empty)


def test_unknown_tuner_loss_weighting_and_objective(tmp_path):
    with pytest.raises(InputError, match="tuner='annealing'"):
        two_head_model(tmp_path, tuner="annealing")
    with pytest.raises(InputError, match="loss_weighting='equal'"):
        two_head_model(tmp_path, loss_weighting="equal")
    x, y = data()
    with pytest.raises(InputError, match="objective='val_f1'"):
        two_head_model(tmp_path, objective="val_f1").fit(x, y)


def test_incompatible_block_wiring():
    with pytest.raises(InputError, match="ConvBlock cannot take a 'text' node"):
        ak.ConvBlock()(ak.TextInput())
    with pytest.raises(InputError, match="TextBlock cannot take a 'image' node"):
        ak.TextBlock()(ak.ImageInput())


def test_labels_only_in_validation_and_missing_columns(tmp_path):
    x, y = data()
    labels = np.array(["a", "b"] * 10)
    model = ak.AutoModel(
        inputs=ak.StructuredDataInput(name="table"),
        outputs=ak.ClassificationHead(name="label"),
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
    )
    # Issue 15: a class only in the validation data is a class (AutoKeras analyses before splitting).
    model.fit(x[1], labels, validation_data=(x[1][:2], np.array(["a", "z"])), epochs=1, verbose=0)
    assert model.heads[0].classes == ["a", "b", "z"]
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    table = ak.StructuredDataInput(name="t", column_names=["a", "c"])
    model = ak.AutoModel(inputs=table, outputs=ak.RegressionHead(), max_trials=1, overwrite=True, directory=tmp_path)
    with pytest.raises(DataError, match=r"lacks columns \['c'\]"):
        model.fit(frame, np.array([1.0, 2.0]))


def test_non_numeric_value_in_numeric_column_names_column_and_row(tmp_path):
    frame = pd.DataFrame({"year": ["1999", "oops", "2001"], "kind": ["a", "b", "a"]})
    table = ak.StructuredDataInput(name="t", column_types={"year": "numerical", "kind": "categorical"})
    model = ak.AutoModel(inputs=table, outputs=ak.RegressionHead(), max_trials=1, overwrite=True, directory=tmp_path)
    with pytest.raises(DataError, match="column 'year', row 1"):
        model.fit(frame, np.array([1.0, 2.0, 3.0]))


def test_predict_before_fit(tmp_path):
    with pytest.raises(InputError, match="Call fit"):
        two_head_model(tmp_path).predict(data()[0])
