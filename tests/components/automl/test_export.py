"""export_model() gives a plain keras.Model with preprocessing inside; `.keras` + safe_mode round trip."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import components as ak


def test_export_round_trip_with_images_text_and_string_categoricals(tmp_path):
    rng = np.random.default_rng(0)
    num = 40
    frame = pd.DataFrame(
        {
            "country": rng.choice(["US", "FR", "JP"], num),
            "runtime": rng.integers(80, 180, num).astype(float),
        }
    )
    x = {
        "poster": rng.integers(0, 255, (num, 8, 8, 3)).astype("uint8"),
        "overview": [" ".join(rng.choice(["ship", "love", "war"], 5)) for _ in range(num)],
        "tabular": frame,
    }
    y = {
        "genre": rng.choice(["drama", "comedy", "action"], num),
        "score": rng.random(num) * 10,
        "tags": rng.integers(0, 2, (num, 2)),
    }
    auto_model = ak.AutoModel(
        inputs=[ak.ImageInput(name="poster"), ak.TextInput(name="overview"), ak.StructuredDataInput(name="tabular")],
        outputs=[
            ak.ClassificationHead(name="genre"),
            ak.RegressionHead(name="score"),
            ak.ClassificationHead(name="tags", multi_label=True),
        ],
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
        seed=0,
    )
    auto_model.fit(x, y, epochs=1, verbose=0)
    model = auto_model.export_model()
    assert (
        isinstance(model, keras.Model)
        and not hasattr(model, "weighting")
        and model.output_names == ["genre", "score", "tags"]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    raw = auto_model.model_inputs(x)  # the table becomes a string matrix of raw values
    assert raw["tabular"].dtype == tf.string
    before, after = model.predict(raw, verbose=0), loaded.predict(raw, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert loaded.get_layer("genre").classes == ["action", "comedy", "drama"]
    assert loaded.get_layer("tags").thresholds == auto_model.heads[2].thresholds
    # The exported model's probabilities decode to the same labels AutoModel.predict gives.
    labels = auto_model.predict(x)[0].ravel()
    assert list(labels) == [loaded.get_layer("genre").classes[i] for i in after[0].argmax(axis=1)]
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded.layers)


def test_export_of_numeric_table_takes_floats_and_answers_in_target_units(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.random((40, 3)).astype("float32")
    auto_model = ak.AutoModel(
        inputs=ak.StructuredDataInput(),
        outputs=ak.RegressionHead(name="price"),
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
    )
    auto_model.fit(x, 1000 + 500 * x[:, 0], epochs=1, verbose=0)
    model = auto_model.export_model()
    assert model.inputs[0].dtype == "float32"
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    prediction = loaded.predict(x, verbose=0)
    assert np.allclose(prediction, model.predict(x, verbose=0)) and 500 < prediction.mean() < 1500


def test_an_exported_model_loads_in_a_fresh_process_with_load_model(tmp_path):
    """A serving process imports nothing of the model library: `ak.load_model` must be enough."""
    import subprocess
    import sys

    rng = np.random.default_rng(2)
    x = rng.random((40, 3)).astype("float32")
    text = np.array([f"drama|romance film {i % 7}" for i in range(40)])
    auto_model = ak.AutoModel(
        inputs=[ak.StructuredDataInput(name="t"), ak.TextInput(name="s")],
        outputs=ak.RegressionHead(name="price"),
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
    )
    auto_model.fit([x, text], 10 * x[:, 0], epochs=1, verbose=0)
    auto_model.export_model().save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "s.npy", text)
    expected = auto_model.export_model().predict({"t": x, "s": text.astype(object)}, verbose=0)
    script = (
        "import numpy as np, sys, components as ak; m = ak.load_model(sys.argv[1]); "
        "x = {'t': np.load(sys.argv[2]), 's': np.load(sys.argv[2].replace('x.npy', 's.npy')).astype(object)}; "
        "np.save(sys.argv[3], m.predict(x, verbose=0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m.keras"), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.allclose(np.load(tmp_path / "y.npy"), expected)


def test_loading_several_models_raises_no_retracing_warning(tmp_path):
    """Each loaded model traces its predict step once; TensorFlow's detector counts them together and warns
    of "retracing" after five (twice per process at most, hence fresh processes). `load_model` drops that
    one warning, so the console stays quiet; plain `keras.saving.load_model` is the control."""
    inputs = keras.Input((3,))
    keras.Model(inputs, keras.layers.Dense(1)(inputs)).save(tmp_path / "tiny.keras")
    script = (
        "import sys, numpy as np, keras\n"
        "from components.automl.export import load_model\n"
        "load = load_model if sys.argv[1] == 'braid' else keras.saving.load_model\n"
        "for _ in range(8):\n"
        "    load(sys.argv[2]).predict_on_batch(np.zeros((2, 3), 'float32'))\n"
    )
    runs = {
        how: subprocess.Popen(
            [sys.executable, "-c", script, how, str(tmp_path / "tiny.keras")],
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[3],
        )
        for how in ("braid", "keras")
    }
    stderr = {how: run.communicate(timeout=300)[1] for how, run in runs.items()}
    assert all(run.returncode == 0 for run in runs.values()), stderr
    assert "triggered tf.function retracing" in stderr["keras"], "TensorFlow warns without the filter"
    assert "retracing" not in stderr["braid"], stderr["braid"]


def _tailnum_model(tmp_path, frame: pd.DataFrame, y: np.ndarray, epochs: int):
    """One trial on a table with a categorical `tailnum`: that column's fitted statistics, the exported
    model and its TableEncoder."""
    from components.automl.blocks.tabular import TableEncoder

    clf = ak.StructuredDataClassifier(
        column_types={"tailnum": "categorical"}, max_trials=1, overwrite=True, seed=0, directory=tmp_path,
        head_models="network",
    )  # fmt: skip
    clf.fit(frame, y, epochs=epochs, verbose=0)
    model = clf.export_model()
    (encoder,) = [layer for layer in model._flatten_layers() if isinstance(layer, TableEncoder)]
    return clf.inputs[0].stats["columns"][0], model, encoder


def test_a_high_cardinality_column_is_embedded_and_the_export_loads_with_it(tmp_path):
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, 301)  # 300 tail numbers, Zipf-like: a few frequent, a long tail
    tails = np.array([f"N{i:03d}" for i in rng.choice(300, 400, p=weights / weights.sum())], dtype=object)
    frame = pd.DataFrame({"tailnum": tails, "distance": rng.random(400) * 1000})
    y = (np.char.endswith(tails.astype(str), "1") | (frame["distance"] > 900)).astype(int)
    column, model, encoder = _tailnum_model(tmp_path, frame, y, epochs=1)
    assert column["encoding"] == "embedding" and 0 < len(column["vocabulary"]) < 300
    table = encoder.embeddings[0].embeddings
    assert tuple(table.shape) == (len(column["vocabulary"]) + 1, column["dim"])  # + the shared bucket
    model.save(tmp_path / "m.keras")
    loaded = ak.load_model(tmp_path / "m.keras")
    rows = tf.constant(frame.astype(str).to_numpy().astype(str))
    np.testing.assert_allclose(loaded.predict(rows, verbose=0), model.predict(rows, verbose=0), atol=1e-6)


def test_an_id_like_column_of_a_small_table_trains_with_every_value_in_the_shared_bucket(tmp_path):
    """Every one of 300 distinct values seen fewer times than an embedded value needs (`MIN_COUNT`): the
    vocabulary is empty, and the model still builds, trains, exports and predicts (it failed to build:
    Keras's StringLookup refuses an empty vocabulary)."""
    rng = np.random.default_rng(0)
    ids = np.array([f"N{i:03d}" for i in rng.permutation(300)], dtype=object)
    frame = pd.DataFrame({"tailnum": ids, "distance": rng.random(300) * 1000})
    y = (frame["distance"] > 500).astype(int).to_numpy()
    column, model, encoder = _tailnum_model(tmp_path, frame, y, epochs=2)
    assert column["encoding"] == "embedding" and column["vocabulary"] == []
    assert encoder.lookups[0] is None and tuple(encoder.embeddings[0].embeddings.shape)[0] == 1
    rows = tf.constant(frame.astype(str).to_numpy().astype(str))
    first = model.predict(rows[:1], verbose=0)
    other = tf.constant([["N999", rows[0, 1].numpy().decode()]])  # an unseen id: the same shared row
    np.testing.assert_allclose(model.predict(other, verbose=0), first, atol=1e-6)
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(
        ak.load_model(tmp_path / "m.keras").predict(rows, verbose=0), model.predict(rows, verbose=0), atol=1e-6
    )


def test_a_numeric_table_embeds_the_category_indices_it_is_told_of(tmp_path):
    """What the pipeline sends: its embedded columns' indices into their vocabularies, in a float table."""
    from components.automl.blocks.tabular import TableEncoder

    rng = np.random.default_rng(0)
    vocabulary = [f"N{i:03d}" for i in range(80)]
    index = rng.integers(0, 81, 200).astype("float32")  # 80: the shared bucket
    x = np.stack([index, rng.random(200).astype("float32")], axis=1)
    auto_model = ak.AutoModel(
        inputs=ak.StructuredDataInput(
            column_names=["tailnum#index", "distance"],
            column_types={"tailnum#index": "categorical"},
            vocabularies={"tailnum#index": vocabulary},
        ),
        outputs=ak.RegressionHead(name="delay"),
        max_trials=1, overwrite=True, directory=tmp_path, head_models="network",
    )  # fmt: skip
    auto_model.fit(x, index % 7, epochs=1, verbose=0)
    model = auto_model.export_model()
    (encoder,) = [layer for layer in model._flatten_layers() if isinstance(layer, TableEncoder)]
    assert tuple(encoder.embeddings[0].embeddings.shape)[0] == 81 and encoder.embeddings[1] is None
    model.save(tmp_path / "m.keras")
    loaded = ak.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
