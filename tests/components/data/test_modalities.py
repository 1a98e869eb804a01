"""Modality and target codecs: fit → transform → TFRecord encode → decode round trips, and edge cases."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from PIL import Image

from components.data.contract import Target, feature_spec
from components.data.modalities import TransformContext, codec_for, modality_names
from components.data.tasks import codec_for_target
from components.errors import ContractError, DataError


def fit(codec, spec, *batches):
    fitter = codec.fitter(spec)
    for batch in batches:
        fitter.update(pd.Series(batch, dtype=object))
    return fitter.finalize()


def round_trip(codec, spec, fitted, values, ctx):
    """transform, then store each row in a tf.train.Example, parse it back and decode it."""
    expected = codec.transform(spec, fitted, values, ctx)
    stored = codec.encode(spec, fitted, values, TransformContext(ctx.image_root, ctx.row_ids))
    decoded = []
    for row in stored:
        example = tf.train.Example(features=tf.train.Features(feature={spec.name: codec.tf_feature(row)}))
        parsed = tf.io.parse_single_example(example.SerializeToString(), {spec.name: codec.parse_spec(spec, fitted)})
        value = codec.decode(spec, fitted, parsed[spec.name]).numpy()
        assert tf.TensorSpec.from_tensor(tf.constant(value)).shape == codec.tensor_spec(spec, fitted).shape
        decoded.append(value.decode() if isinstance(value, bytes) else value)
    return expected, np.stack(decoded) if decoded and not isinstance(decoded[0], str) else np.array(decoded, object)


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 12, 3), dtype=np.uint8)).save(root / f"{i}.png")
    Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8), mode="L").save(root / "gray.jpg")
    return root


def test_every_modality_is_registered():
    assert modality_names() == ["audio", "categorical", "datetime", "image", "numerical", "text", "timeseries"]
    with pytest.raises(ContractError, match=r"feature 'scan': no modality 'video' \(known: \['audio'"):
        codec_for(SimpleNamespace(name="scan", modality="video"))


def test_numerical_round_trip_coerces_strings_and_flags_missing():
    spec = feature_spec(name="price", modality="numerical")
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["1", " 2 "], [3.0, None, "n/a"])
    assert fitted["mean"] == pytest.approx(2.0) and fitted["std"] == pytest.approx(np.std([1, 2, 3]))
    assert fitted["non_numeric"] == 1 and fitted["missing"] == 2
    ctx = TransformContext()
    values = pd.Series(["2", None, "abc", "4.5"], dtype=object)
    expected, decoded = round_trip(codec, spec, fitted, values, ctx)
    np.testing.assert_allclose(expected[:, 1], [0, 1, 1, 0])
    assert expected[0, 0] == 0.0 and expected[3, 0] == pytest.approx(2.5 / fitted["std"])
    np.testing.assert_array_equal(decoded, expected)
    assert ctx.issues["price: not a number (treated as missing)"] == 1  # "abc"; None is just missing
    assert codec.columns(spec, fitted) == ["price", "price__missing"]


def test_numerical_streaming_fit_matches_one_pass():
    spec = feature_spec(name="x", modality="numerical")
    values = np.random.default_rng(1).normal(50, 7, 1000)
    fitted = fit(codec_for(spec), spec, *np.array_split(values, 7))
    assert fitted["mean"] == pytest.approx(values.mean()) and fitted["std"] == pytest.approx(values.std())


def test_categorical_with_few_values_is_one_hot_over_all_of_them():
    spec = feature_spec(name="color", modality="categorical", max_categories=4)
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["red", "red", "blue", "green", "blue", "red", 3.0], ["3"])
    # 3.0 and "3" are one category; most frequent first, ties alphabetically; four values: all kept
    assert fitted["encoding"] == "one_hot" and fitted["vocabulary"] == ["red", "3", "blue", "green"]
    ctx = TransformContext()
    expected, decoded = round_trip(codec, spec, fitted, pd.Series(["blue", "purple", None, "red"]), ctx)
    np.testing.assert_array_equal(expected[:, [0, 2, 4]], [[0, 1, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(decoded, expected)
    # purple, not None: nothing was cut, so an unknown value is news of the data, said so
    assert ctx.issues == {"color: category not seen on train (the one-hot out-of-vocabulary bucket)": 1}
    assert codec.columns(spec, fitted) == ["color=red", "color=3", "color=blue", "color=green", "color=<oov>"]
    assert codec.category_indices(spec, fitted) == {}


def _zipf_tails(rows: int, values: int, seed: int = 0) -> list[str]:
    """`rows` tail numbers drawn from `values` with Zipf-like frequencies (rank r has weight 1/r)."""
    weights = 1.0 / np.arange(1, values + 1)
    drawn = np.random.default_rng(seed).choice(values, rows, p=weights / weights.sum())
    return [f"N{i:04d}" for i in drawn]


def test_a_high_cardinality_column_is_embedded_and_the_warning_says_how(caplog):
    from components.data.preprocess import _report

    spec = feature_spec(name="tailnum", modality="categorical", max_categories=50, max_embedded=100, min_count=5)
    codec = codec_for(spec)
    train = _zipf_tails(5000, 300)
    fitted = fit(codec, spec, train[:2000], train[2000:])
    counts = pd.Series(train).value_counts()
    assert fitted["encoding"] == "embedding" and fitted["distinct_in_train"] == counts.size
    # the 100 most frequent, each seen at least 5 times; the rest of the rows share the bucket
    assert fitted["vocabulary"][:3] == ["N0000", "N0001", "N0002"] and len(fitted["vocabulary"]) == 100
    assert counts[fitted["vocabulary"]].min() >= 5
    share = 1 - counts[fitted["vocabulary"]].sum() / len(train)
    assert fitted["bucket_share"] == pytest.approx(share) and 0.05 < share < 0.5
    # one tabular slot: the value's index into the vocabulary, its length for the shared bucket
    assert codec.columns(spec, fitted) == ["tailnum#index"]
    assert codec.category_indices(spec, fitted) == {"tailnum#index": fitted["vocabulary"]}
    ctx = TransformContext()
    values = pd.Series(["N0000"] * 80 + ["N0002"] * 8 + ["N0299"] * 7 + ["never seen"] * 5)
    expected, decoded = round_trip(codec, spec, fitted, values, ctx)
    np.testing.assert_array_equal(expected[:, 0], [0] * 80 + [2] * 8 + [100] * 12)
    np.testing.assert_array_equal(decoded, expected)
    with caplog.at_level("WARNING", logger="components.data.preprocess"):
        _report(ctx.issues, "preprocess flights", 100)
    assert caplog.messages == [
        f"preprocess flights: tailnum: {counts.size} values; 100 most frequent embedded, the rest share one bucket "
        f"({share:.0%} of train rows): 12 row(s) (12% of 100)"
    ]


def test_text_is_cleaned_to_valid_utf8_and_keeps_a_vocabulary():
    spec = feature_spec(name="overview", modality="text", max_tokens=2)
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["The cat, the dog.", None], [b"the caf\xe9 cat"])
    assert fitted["vocabulary"] == ["the", "cat"]
    values = pd.Series(["  Two\x00 words\n", b"bad \xff byte", "\ud800 surrogate", None], dtype=object)
    expected, decoded = round_trip(codec, spec, fitted, values, TransformContext())
    assert list(expected) == ["Two words", "bad \ufffd byte", "? surrogate", ""]
    assert list(decoded) == list(expected)


def test_datetime_parts_are_cyclic_with_a_time_index_and_missing_is_flagged():
    spec = feature_spec(name="day", modality="datetime", datetime_format="%Y-%m-%d")
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["2020-01-01", "2022-07-01"])
    assert fitted["year_mean"] == 2021 and fitted["has_time"] is False
    assert codec.columns(spec, fitted) == [
        f"day__{p}" for p in ["year", "time", "month_sin", "month_cos", "weekday_sin", "weekday_cos", "doy_sin",
                              "doy_cos", "missing"]
    ]  # fmt: skip
    ctx = TransformContext()
    expected, decoded = round_trip(codec, spec, fitted, pd.Series(["2021-01-04", None, "not a date"]), ctx)
    year, time, month_sin, month_cos, weekday_sin, weekday_cos, doy_sin, doy_cos, _ = expected[0]
    assert year == 0 and month_sin == pytest.approx(0) and month_cos == pytest.approx(1)
    assert time == pytest.approx(369 / 912)  # 369 days after the first training date, of a 912-day span
    assert weekday_sin == pytest.approx(0) and weekday_cos == pytest.approx(1)  # 4 January 2021: a Monday
    assert doy_sin == pytest.approx(np.sin(2 * np.pi * 3 / 366)) and doy_cos == pytest.approx(
        np.cos(2 * np.pi * 3 / 366)
    )
    np.testing.assert_array_equal(expected[:, -1], [0, 1, 1])
    assert not expected[1, :-1].any()
    np.testing.assert_allclose(decoded, expected)
    assert ctx.issues["day: not a date (treated as missing)"] == 1


def test_datetime_with_times_gets_the_hour_of_day():
    spec = feature_spec(name="departure", modality="datetime")
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["2013-01-01 05:15", "2013-12-31 23:59"])
    assert fitted["has_time"] is True
    assert codec.columns(spec, fitted)[-3:] == ["departure__hour_sin", "departure__hour_cos", "departure__missing"]
    parts = codec.transform(spec, fitted, pd.Series(["2013-06-01 06:00", "2013-06-01 18:00"]), TransformContext())
    np.testing.assert_allclose(parts[:, -3:-1], [[1, 0], [-1, 0]], atol=1e-6)  # 6 h: a quarter of the day
    assert parts[1, 1] - parts[0, 1] == pytest.approx(0.5 / fitted["day_span"], rel=1e-4)  # half a day later
    old = {"year_mean": 2013.0, "year_std": 1.0}  # a state fitted before the time index still serves its parts
    assert codec.transform(spec, old, pd.Series(["2013-06-01 06:00"]), TransformContext()).shape == (1, 8)


def test_image_round_trip_from_paths_and_bytes(image_root: Path):
    spec = feature_spec(name="poster", modality="image", image_size=(8, 6))
    codec = codec_for(spec)
    jpeg = (image_root / "gray.jpg").read_bytes()
    values = pd.Series(["0.png", "sub/../1.png", jpeg, "gray.jpg"], dtype=object)
    ctx = TransformContext(image_root=image_root, row_ids=["a", "b", "c", "d"])
    expected, decoded = round_trip(codec, spec, fit(codec, spec, values), values, ctx)
    assert expected.shape == (4, 8, 6, 3) and expected.dtype == np.uint8
    np.testing.assert_array_equal(expected[2], expected[3])  # bytes and path give the same image
    np.testing.assert_array_equal(decoded, expected)  # PNG storage is lossless


@pytest.mark.parametrize("path", ["../outside.png", "/etc/passwd", "sub/../../x.png"])
def test_image_paths_escaping_the_root_are_rejected(image_root: Path, path: str):
    spec = feature_spec(name="poster", modality="image", image_size=(8, 8))
    ctx = TransformContext(image_root=image_root, row_ids=["r1", "r2"])
    with pytest.raises(DataError, match=r"row 'r2', column 'poster'.*outside the image root"):
        codec_for(spec).transform(spec, {}, pd.Series(["0.png", path]), ctx)


def test_missing_or_broken_image_file_names_file_and_row(image_root: Path):
    spec = feature_spec(name="poster", modality="image", image_size=(8, 8))
    (image_root / "broken.png").write_bytes(b"not an image")
    ctx = TransformContext(image_root=image_root, row_ids=["r7", "r8"])
    with pytest.raises(DataError, match=r"row 'r7', column 'poster'.*nope.png does not exist"):
        codec_for(spec).encode(spec, {}, pd.Series(["nope.png", "0.png"]), ctx)
    with pytest.raises(DataError, match=r"row 'r8'.*cannot decode image .*broken.png"):
        codec_for(spec).transform(spec, {}, pd.Series(["0.png", "broken.png"]), ctx)


def test_classification_classes_are_sorted_and_unseen_is_minus_one():
    spec = Target(name="kind", task="classification")
    codec = codec_for_target(spec)
    fitted = fit(codec, spec, ["tool", "antique", "tool"])
    assert fitted["classes"] == ["antique", "tool"]
    ctx = TransformContext()
    expected, decoded = round_trip(codec, spec, fitted, pd.Series(["tool", "gadget", None]), ctx)
    np.testing.assert_array_equal(expected, [1, -1, -1])
    np.testing.assert_array_equal(decoded, expected)
    assert ctx.issues["kind: class 'gadget' not seen in train (encoded -1)"] == 1
    assert codec.unseen(fitted, pd.Series(["tool", "gadget", None])) == [None, "gadget", None]
    truth = codec.as_wrong(np.array([1, -1]), np.array([[0.2, 0.8], [0.9, 0.1]]), np.array([False, True]))
    assert truth.tolist() == [1, 1]  # the unseen row's truth: the class the predictions find least likely


def test_multilabel_with_separator_and_python_literal_lists():
    piped = Target(name="tags", task="multilabel", separator="|")
    codec = codec_for_target(piped)
    fitted = fit(codec, piped, ["a|b", "b", None, "c| a"])
    assert fitted["labels"] == ["a", "b", "c"]
    ctx = TransformContext()
    expected, decoded = round_trip(codec, piped, fitted, pd.Series(["b|a", None, "z"]), ctx)
    np.testing.assert_array_equal(expected, [[1, 1, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(decoded, expected)
    assert ctx.issues["tags: label not seen in train (dropped)"] == 1

    genres = Target(name="genres", task="multilabel", list_format="python_literal", list_key="name")
    cells = ["[{'id': 16, 'name': 'Animation'}, {'id': 35, 'name': 'Comedy'}]", "[]", "[{'id': 18, 'name': 'Drama'}]"]
    fitted = fit(codec, genres, cells)
    assert fitted["labels"] == ["Animation", "Comedy", "Drama"]
    np.testing.assert_array_equal(codec.transform(genres, fitted, pd.Series(cells[:1]), ctx), [[1, 1, 0]])
    with pytest.raises(DataError, match=r"row 'm1', column 'genres': cannot read labels"):
        codec.transform(genres, fitted, pd.Series(["[{'id': 1"]), TransformContext(row_ids=["m1"]))


def test_regression_keeps_raw_values_and_records_mean_std():
    spec = Target(name="score", task="regression")
    codec = codec_for_target(spec)
    fitted = fit(codec, spec, ["1.5", 2.5])
    assert fitted["mean"] == pytest.approx(2.0) and fitted["std"] == pytest.approx(0.5)
    expected, decoded = round_trip(codec, spec, fitted, pd.Series(["7.25", None]), TransformContext())
    np.testing.assert_array_equal(expected, np.array([7.25, np.nan], np.float32))
    np.testing.assert_array_equal(decoded, expected)


def test_heavy_tailed_numbers_are_log_scaled_and_light_tailed_are_not():
    feature = feature_spec(name="budget", modality="numerical")
    codec = codec_for(feature)
    rng = np.random.default_rng(0)
    heavy = pd.Series(np.exp(rng.normal(10, 2.5, 2000)))  # log-normal: money-like
    light = pd.Series(rng.normal(50, 5, 2000))
    fits = {}
    for name, values in (("heavy", heavy), ("light", light)):
        fitter = codec.fitter(feature)
        fitter.update(values)
        fits[name] = fitter.finalize()
    assert fits["heavy"]["log"] and not fits["light"]["log"]
    scaled = codec.transform(feature, fits["heavy"], heavy, TransformContext())[:, 0]
    assert abs(scaled.mean()) < 0.05 and abs(scaled.std() - 1) < 0.05
    assert scaled.max() < 6, "no row is squashed far from the rest after the log"
