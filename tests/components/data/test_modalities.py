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


def test_categorical_keeps_top_categories_and_sends_unseen_to_oov():
    spec = feature_spec(name="color", modality="categorical", max_categories=3)
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["red", "red", "blue", "green", "blue", "red", 3.0], ["3"])
    # 3.0 and "3" are one category; ties break alphabetically; the rarest ("green") is left out.
    assert fitted["vocabulary"] == ["red", "3", "blue"]
    ctx = TransformContext()
    expected, decoded = round_trip(codec, spec, fitted, pd.Series(["blue", "purple", None, "red"]), ctx)
    np.testing.assert_array_equal(expected, [[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0]])
    np.testing.assert_array_equal(decoded, expected)
    # purple, not None; said as what it is: four values on train, three kept, the rest in one bucket
    assert ctx.issues == {"color: 4 values on train; the 3 most frequent one-hot encoded, the rest share one bucket": 1}
    assert codec.columns(spec, fitted) == ["color=red", "color=3", "color=blue", "color=<oov>"]


def test_a_category_beyond_the_top_n_is_reported_with_its_share_of_rows(caplog):
    from components.data.preprocess import _report

    spec = feature_spec(name="tailnum", modality="categorical", max_categories=50)
    codec = codec_for(spec)
    train = [f"N{i:04d}" for i in range(4043)] + [f"N{i:04d}" for i in range(50)] * 3  # 50 frequent tails
    fitted = fit(codec, spec, train)
    ctx = TransformContext()
    codec.transform(spec, fitted, pd.Series(["N0001"] * 88 + ["N3000"] * 12), ctx)
    with caplog.at_level("WARNING", logger="components.data.preprocess"):
        _report(ctx.issues, "preprocess flights", 100)
    assert caplog.messages == [
        "preprocess flights: tailnum: 4,043 values on train; the 50 most frequent one-hot encoded, the rest share "
        "one bucket: 12 row(s) (12% of 100)"
    ]
    small = fit(codec, spec, ["a", "b"])  # nothing was cut: an unknown value is news of the data, said so
    ctx = TransformContext()
    codec.transform(spec, small, pd.Series(["c"]), ctx)
    assert list(ctx.issues) == ["tailnum: category not seen on train (the one-hot out-of-vocabulary bucket)"]


def test_text_is_cleaned_to_valid_utf8_and_keeps_a_vocabulary():
    spec = feature_spec(name="overview", modality="text", max_tokens=2)
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["The cat, the dog.", None], [b"the caf\xe9 cat"])
    assert fitted["vocabulary"] == ["the", "cat"]
    values = pd.Series(["  Two\x00 words\n", b"bad \xff byte", "\ud800 surrogate", None], dtype=object)
    expected, decoded = round_trip(codec, spec, fitted, values, TransformContext())
    assert list(expected) == ["Two words", "bad \ufffd byte", "? surrogate", ""]
    assert list(decoded) == list(expected)


def test_datetime_parts_are_cyclic_and_missing_is_flagged():
    spec = feature_spec(name="day", modality="datetime", datetime_format="%Y-%m-%d")
    codec = codec_for(spec)
    fitted = fit(codec, spec, ["2020-01-01", "2022-07-01"])
    assert fitted["year_mean"] == 2021
    ctx = TransformContext()
    expected, decoded = round_trip(codec, spec, fitted, pd.Series(["2021-01-01", None, "not a date"]), ctx)
    year, month_sin, month_cos = expected[0, :3]
    assert year == 0 and month_sin == pytest.approx(0) and month_cos == pytest.approx(1)
    np.testing.assert_array_equal(expected[:, -1], [0, 1, 1])
    assert not expected[1, :-1].any()
    np.testing.assert_allclose(decoded, expected)
    assert ctx.issues["day: not a date (treated as missing)"] == 1


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
