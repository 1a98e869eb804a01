"""Time series: one cell's reading, the train moments per channel, padding and the step mask; the\npipeline codec's round trip through a TFRecord and its contract options."""

import json
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from components.data.contract import feature_spec, load_contract
from components.data.infer import infer_contract
from components.data.modalities import TransformContext, codec_for
from components.data.profile import profile_frame
from components.data.validation import validate
from components.errors import ContractError, DataError
from components.evaluation.classical import ClassicalColumns
from components.evaluation.drift import compare
from components.features.timeseries import (
    ChannelMoments,
    SeriesProblem,
    filled,
    padded,
    parse_series,
    proposed_length,
    series_json,
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
    with pytest.raises(SeriesProblem, match=r"2 channel\(s\) per step where 3 are expected"):
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


def test_the_codec_stores_what_the_model_reads_and_names_a_bad_row():
    spec = feature_spec(name="accel", modality="timeseries", max_length=4, channels=2)
    codec = codec_for(spec)
    fitter = codec.fitter(spec)
    fitter.update(pd.Series(["[[1, 10], [3, 30]]", [[5, 20]], "[[1, 2, 3]]"], dtype=object))
    fitted = fitter.finalize()
    assert fitted["mean"] == pytest.approx([3.0, 20.0]) and fitted["unreadable"] == 1
    values = pd.Series(["[[3, 20], [null, 30], [5, 20]]", None, [[1, 10]] * 6], dtype=object)
    ctx = TransformContext(row_ids=["a", "b", "c"])
    expected = codec.transform(spec, fitted, values, ctx)
    assert expected.shape == (3, 4, 2) and ctx.issues["accel: series longer than max_length 4 (cropped)"] == 1
    stored = codec.encode(spec, fitted, values, TransformContext())
    examples = [
        tf.train.Example(features=tf.train.Features(feature={"accel": codec.tf_feature(row)})).SerializeToString()
        for row in stored
    ]
    parsed = tf.io.parse_example(examples, {"accel": codec.parse_spec(spec, fitted)})
    decoded = codec.decode_batch(spec, fitted, parsed["accel"]).numpy()
    np.testing.assert_array_equal(decoded, expected)  # NaN in the same places: the padding, the missing value
    assert np.isnan(decoded[0, 1, 0]) and decoded[0, 1, 1] == pytest.approx(10 / fitted["std"][1])
    assert np.isnan(decoded[1]).all() and np.isfinite(decoded[2]).all()
    with pytest.raises(DataError, match=r"row 'b', column 'accel': the series has 3 channel\(s\)"):
        codec.transform(spec, fitted, pd.Series(["[[1, 2]]", "[[1, 2, 3]]", None]), ctx)


def contract_feature(tmp_path, options: str):
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: sensors\nsource:\n  path: data.csv\nid_column: id\nfeatures:\n  - name: accel\n"
        f"    modality: timeseries\n    {options}\ntargets:\n  - name: activity\n    task: classification\n"
    )
    return load_contract(path).features[0]


def test_a_contract_checks_the_options(tmp_path):
    with pytest.raises(ContractError, match=r"line 8, features\[0\]\.scaling"):
        contract_feature(tmp_path, "scaling: minmax")
    feature = contract_feature(tmp_path, "max_length: 50\n    channels: 3")
    assert (feature.max_length, feature.channels, feature.scaling) == (50, 3, "standard")


def test_validation_quarantines_an_unreadable_series_by_row_id(tmp_path):
    pd.DataFrame(
        {
            "id": ["r0", "r1", "r2", "r3"],
            "accel": ["[1, 2, 3]", "[1, two]", "[[1, 2], [3, 4]]", None],
            "activity": ["walk", "run", "walk", "run"],
        }
    ).to_csv(tmp_path / "data.csv", index=False)
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: sensors\nsource:\n  path: data.csv\nid_column: id\nfeatures:\n  - name: accel\n"
        "    modality: timeseries\n    channels: 1\ntargets:\n  - name: activity\n    task: classification\n"
        "on_bad_rows: quarantine\n"
    )
    report = validate(load_contract(path), tmp_path / "out")
    assert report.success and report.n_quarantined == 2
    quarantine = pd.read_parquet(report.quarantine_path).set_index("id")
    assert "cannot read '[1, two]' as a JSON array" in quarantine.loc["r1", "reason"]
    assert "2 channel(s)" in quarantine.loc["r2", "reason"] and set(quarantine["column"]) == {"accel"}


def test_infer_proposes_a_timeseries_with_its_length_from_csv_and_parquet(tmp_path):
    rng = np.random.default_rng(0)
    series = [rng.normal(size=(int(n), 2)) for n in rng.integers(20, 40, size=40)]
    frame = pd.DataFrame({"id": range(40), "label": ["a", "b"] * 20})
    frame.assign(accel=[json.dumps(s.tolist()) for s in series]).to_csv(tmp_path / "s.csv", index=False)
    frame.assign(accel=[list(map(list, s)) for s in series]).to_parquet(tmp_path / "s.parquet")
    expected = int(np.percentile([len(s) for s in series], 95, method="inverted_cdf"))
    for name in ("s.csv", "s.parquet"):
        text = infer_contract(tmp_path / name, targets=["label"], contract_dir=tmp_path)
        assert "modality: timeseries" in text and "channels: 2" in text, text
        assert f"max_length: {expected}" in text
        (tmp_path / "c.yaml").write_text(text)
        assert load_contract(tmp_path / "c.yaml").feature("accel").max_length == expected


def test_the_classical_model_reads_summary_numbers_per_channel():
    columns = ClassicalColumns(series=(("accel", 2),))
    rows = pd.DataFrame({"accel": ["[[1, 10], [3, null], [2, 30]]", None, "[[1, 2, 3]]"]})
    numbers = columns.inputs(rows).numbers
    assert numbers.shape == (3, 13)
    assert numbers[0].tolist() == pytest.approx([2, np.std([1, 3, 2]), 1, 3, 1, 2, 20, 10, 10, 30, 10, 30, 3])
    assert np.isnan(numbers[1, :12]).all() and numbers[1, 12] == 0 and np.isnan(numbers[2]).all()


def test_a_parquet_cell_is_sent_to_the_served_model_as_its_json_array():
    vectors = np.array([np.array([1.0, np.nan]), np.array([2.0, 3.0])], dtype=object)
    assert series_json(vectors) == "[[1.0, null], [2.0, 3.0]]"
    assert series_json(np.array([1.5, 2.0])) == "[1.5, 2.0]"
    assert series_json(None) is None and series_json(float("nan")) is None and series_json("[1]") == "[1]"
    assert parse_series(series_json(vectors)).tolist()[1] == [2.0, 3.0]


def test_drift_sees_longer_series_and_a_shifted_channel():
    contract = SimpleNamespace(
        name="sensors", features=[feature_spec(name="accel", modality="timeseries", channels=2)], targets=[]
    )

    def rows(seed: int, steps=(10, 20), shift: float = 0.0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        cells = [rng.normal(shift, 1, size=(int(rng.integers(*steps)), 2)).tolist() for _ in range(300)]
        return pd.DataFrame({"accel": [json.dumps(c) for c in cells]})

    reference = profile_frame(contract, rows(0))
    assert reference["columns"]["accel"]["length"]["count"] == 300
    assert compare(reference, profile_frame(contract, rows(1), reference=reference)).drifted == []
    longer = compare(reference, profile_frame(contract, rows(1, steps=(30, 40)), reference=reference))
    assert "length_psi" in {c.statistic for c in longer.drifted}
    shifted = compare(reference, profile_frame(contract, rows(1, shift=1.0), reference=reference))
    assert {"channel_0_mean_psi", "channel_1_mean_psi"} <= {c.statistic for c in shifted.drifted}
