"""TimeseriesInput and TimeseriesBlock: series of any length in, padding masked, the whole search runs,
and the exported model takes raw padded arrays."""

import keras
import keras_tuner as kt
import numpy as np
import pytest

import components as ak
from components.automl.adapters import convert_series, fit_node
from components.errors import DataError, InputError


def sine_series(rows: int, seed: int = 0):
    """Two channels, 12 to 30 steps; the class is the frequency; a few values missing."""
    rng = np.random.default_rng(seed)
    series, labels = [], []
    for i in range(rows):
        steps, label = int(rng.integers(12, 31)), i % 2
        t = np.arange(steps)
        one = np.stack([np.sin(t * (0.3 + 0.9 * label)), 5 + np.cos(t * 0.2)], axis=1)
        one[rng.random(one.shape) < 0.05] = np.nan
        series.append(one.tolist())
        labels.append(["slow", "fast"][label])
    return series, np.array(labels)


def test_series_of_any_length_pad_to_the_trained_length():
    node = ak.TimeseriesInput(name="accel")
    first = convert_series(node, ["[1, 2, 3]", [4.0, None], None] + [[0.0] * 8] * 17)
    assert first.shape == (20, 8, 1) and np.isnan(first[1, 1, 0]) and np.isnan(first[2]).all()
    fit_node(node, first)
    assert node.shape == (8, 1) and node.stats["mean"] == pytest.approx([10 / 140])  # 4 values and 17 x 8 zeros
    assert convert_series(node, np.zeros((2, 12), "float32")).shape == (2, 8, 1)  # cropped
    with pytest.raises(InputError, match="trained on 1 channel"):
        convert_series(node, [[[1, 2]]])
    with pytest.raises(DataError, match="row 1: the series"):
        convert_series(node, ["[1]", "[1, x]"])


@pytest.mark.parametrize("block_type", ["cnn", "rnn", "transformer"])
def test_padding_is_masked_not_read_as_values(block_type):
    node = ak.TimeseriesInput(name="accel")
    sample = np.random.default_rng(0).normal(size=(8, 6, 2)).astype("float32")
    fit_node(node, sample)
    block = ak.TimeseriesBlock(block_type=block_type, num_layers=1, units=8, dropout=0.0)
    block.name = "series"
    tensor = node.keras_input()
    model = keras.Model(tensor, block.build(kt.HyperParameters(), [tensor], [node]))
    padded = sample[:1].copy()
    padded[0, 4:] = np.nan
    at_mean = sample[:1].copy()
    at_mean[0, 4:] = node.stats["mean"]  # zeros once scaled: what the padding would read as unmasked
    out = model.predict(np.concatenate([padded, at_mean, np.full_like(padded, np.nan)]), verbose=0)
    assert np.isfinite(out).all() and out.shape[-1] > 0
    assert not np.allclose(out[0], out[1], atol=1e-6)


def test_a_timeseries_classifier_searches_trains_and_exports_raw_padded_arrays(tmp_path):
    series, labels = sine_series(40)
    auto_model = ak.AutoModel(
        inputs=ak.TimeseriesInput(name="accel"),
        outputs=ak.ClassificationHead(name="speed"),
        max_trials=1,
        directory=str(tmp_path),
        overwrite=True,
        seed=0,
    )
    auto_model.fit(series, labels, epochs=2, batch_size=16, verbose=0)
    predicted = auto_model.predict(series[:4])
    assert set(predicted.reshape(-1)) <= {"slow", "fast"}
    model = auto_model.export_model()
    model.save(tmp_path / "m.keras")
    again = ak.load_model(tmp_path / "m.keras")
    raw = convert_series(auto_model.inputs[0], series[:4])
    assert raw.shape[1:] == model.inputs[0].shape[1:] and np.isnan(raw).any()
    np.testing.assert_allclose(again.predict(raw, verbose=0), model.predict(raw, verbose=0), atol=1e-5)


def test_the_regressor_task_api_fits_lists_of_any_length(tmp_path):
    series, labels = sine_series(24, seed=1)
    reg = ak.TimeseriesRegressor(max_length=16, max_trials=1, directory=str(tmp_path), overwrite=True, seed=0)
    reg.fit(series, (labels == "fast").astype("float32"), epochs=1, batch_size=8, verbose=0)
    assert reg.inputs[0].shape == (16, 2)
    assert np.isfinite(reg.predict(series[:3])).all()


def test_the_recurrent_mask_is_right_padded_and_never_empty():
    from components.automl.blocks.timeseries import SeriesScaling

    nan = np.nan
    x = np.array([[[1.0], [nan], [2.0], [nan]], [[nan], [nan], [nan], [nan]], [[3.0], [4.0], [5.0], [6.0]]], "float32")
    mask = keras.ops.convert_to_numpy(SeriesScaling([0.0], [1.0], mask_steps=True).compute_mask(x))
    # cuDNN's LSTM/GRU assert on a gap inside a mask or a sequence masked whole (a blanked series)
    assert mask.tolist() == [[True, True, True, False], [True, False, False, False], [True] * 4]
    assert SeriesScaling([0.0], [1.0]).compute_mask(x) is None


def test_scaling_stays_float32_under_a_mixed_precision_policy():
    from components.automl.blocks.timeseries import SeriesScaling

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = SeriesScaling([1e5], [1e4])
        out = keras.ops.convert_to_numpy(layer(np.array([[[1.2e5], [np.nan]]], "float32")))
    finally:
        keras.config.set_dtype_policy(previous)
    assert out.tolist() == [[[pytest.approx(2.0)], [0.0]]]
