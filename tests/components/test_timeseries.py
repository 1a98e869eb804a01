"""Time series: one cell's reading, the train moments per channel, padding and the step mask."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from components.features.timeseries import (
    ChannelMoments,
    SeriesProblem,
    filled,
    padded,
    parse_series,
    proposed_length,
)


def test_a_cell_reads_from_lists_nested_lists_json_and_missing():
    assert parse_series([1, 2.5, None]).shape == (3, 1)
    assert np.isnan(parse_series([1, 2.5, None])[2, 0])
    vectors = parse_series("[[0.1, 3], [0.2, null]]")
    assert vectors.shape == (2, 2) and vectors[0, 1] == 3.0 and np.isnan(vectors[1, 1])
    parquet_cell = np.array([np.array([1.0, 2.0]), np.array([3.0, 4.0])], dtype=object)
    assert parse_series(parquet_cell, channels=2).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    for empty in (None, float("nan"), "", "[]", []):
        assert parse_series(empty, channels=2).shape == (0, 2)


@pytest.mark.parametrize(
    "cell, problem",
    [
        ("[1, 2", "JSON array"),
        ('{"a": 1}', "not a JSON array"),
        ("[1, [2, 3]]", "mixes numbers and vectors"),
        ("[[1, 2], [3]]", "different lengths"),
        ('[1, "x"]', "not a number"),
        (7, "single value"),
    ],
)
def test_an_unreadable_cell_says_why(cell, problem):
    with pytest.raises(SeriesProblem, match=problem):
        parse_series(cell)


def test_the_wrong_channel_count_is_refused():
    with pytest.raises(SeriesProblem, match="channels: 3"):
        parse_series([[1, 2]], channels=3)


def test_moments_stream_per_channel_and_ignore_missing_values():
    rows = ["[[1, 10], [3, null]]", None, [[5, 30]]]
    fitter = ChannelMoments()
    fitter.update(pd.Series(rows[:2], dtype=object))
    fitter.update(pd.Series(rows[2:], dtype=object))
    fitted = fitter.finalize()
    assert fitted["channels"] == 2 and fitted["rows"] == 3 and fitted["empty"] == 1
    assert fitted["mean"] == pytest.approx([3.0, 20.0])
    assert fitted["std"] == pytest.approx([np.std([1, 3, 5]), 10.0])
    assert fitted["missing_values"] == 1 and fitted["longest"] == 2


def test_the_proposed_length_is_the_95th_percentile_within_bounds():
    assert proposed_length(Counter({50: 95, 5000: 5})) == 50
    assert proposed_length(Counter({3: 10})) == 8
    assert proposed_length(Counter({5000: 10})) == 1024


def test_padding_crops_scales_and_masks():
    series = [np.array([[1.0], [np.nan], [3.0]]), np.zeros((0, 1)), np.arange(6.0)[:, None]]
    values = padded(series, 4, 1, mean=[1.0], std=[2.0])
    assert values.shape == (3, 4, 1) and values.dtype == np.float32
    assert values[0, :, 0].tolist()[::2] == [0.0, 1.0] and np.isnan(values[0, 1, 0]) and np.isnan(values[0, 3, 0])
    assert values[2, :, 0].tolist() == [-0.5, 0.0, 0.5, 1.0]  # the first 4 steps of 6
    zeros, mask = filled(values)
    assert not np.isnan(zeros).any() and zeros[0, 1, 0] == 0.0
    # A step where every channel is missing is masked like padding.
    assert mask.tolist() == [[True, False, True, False], [False] * 4, [True] * 4]
