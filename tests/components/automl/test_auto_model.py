"""AutoModel end to end: AutoKeras's multi-modal multi-task tutorial (both variants) with
`import components as ak`, every input kind, every head kind, and predict/evaluate."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import components as ak


def tutorial_data(num=64, seed=0):
    rng = np.random.default_rng(seed)
    image_data = rng.random((num, 32, 32, 3)).astype(np.float32)
    structured_data = rng.random((num, 20)).astype(np.float32)
    regression_target = rng.random((num, 1)).astype(np.float32)
    classification_target = rng.integers(5, size=(num, 1))
    return image_data, structured_data, regression_target, classification_target


def test_tutorial_variant_1_automodel_with_heads(tmp_path):
    image_data, structured_data, regression_target, classification_target = tutorial_data()
    model = ak.AutoModel(
        inputs=[ak.ImageInput(), ak.StructuredDataInput()],
        outputs=[
            ak.RegressionHead(metrics=["mae"]),
            ak.ClassificationHead(loss="categorical_crossentropy", metrics=["accuracy"]),
        ],
        overwrite=True,
        max_trials=2,
        directory=tmp_path,
    )
    model.fit([image_data, structured_data], [regression_target, classification_target], epochs=1, verbose=0)
    regression, classification = model.predict([image_data, structured_data])
    assert regression.shape == (64, 1) and np.isfinite(regression).all()
    assert set(classification.ravel()) <= {0, 1, 2, 3, 4}
    logs = model.evaluate([image_data, structured_data], [regression_target, classification_target], return_dict=True)
    assert {"regression_head_1_mae", "classification_head_1_accuracy", "combined_loss"} <= set(logs)
    assert len([row for row in model.leaderboard() if row["status"] == "COMPLETED"]) == 2


def test_tutorial_variant_1_with_validation_data(tmp_path):
    image_data, structured_data, regression_target, classification_target = tutorial_data()
    model = ak.AutoModel(
        inputs=[ak.ImageInput(), ak.StructuredDataInput()],
        outputs=[ak.RegressionHead(metrics=["mae"]), ak.ClassificationHead(metrics=["accuracy"])],
        overwrite=True,
        max_trials=1,
        directory=tmp_path,
    )
    model.fit(
        [image_data[:48], structured_data[:48]],
        [regression_target[:48], classification_target[:48]],
        validation_data=([image_data[48:], structured_data[48:]], [regression_target[48:], classification_target[48:]]),
        epochs=1,
        verbose=0,
    )
    assert model.leaderboard()[0]["score"] is not None


@pytest.mark.slow
def test_tutorial_variant_2_custom_graph(tmp_path):
    image_data, structured_data, regression_target, classification_target = tutorial_data()
    input_node1 = ak.ImageInput()
    output_node = ak.Normalization()(input_node1)
    output_node = ak.ImageAugmentation()(output_node)
    output_node1 = ak.ConvBlock()(output_node)
    output_node2 = ak.ResNetBlock(version="v2")(output_node)
    output_node1 = ak.Merge()([output_node1, output_node2])

    input_node2 = ak.StructuredDataInput()
    output_node = ak.CategoricalToNumerical()(input_node2)
    output_node2 = ak.DenseBlock()(output_node)

    output_node = ak.Merge()([output_node1, output_node2])
    output_node1 = ak.ClassificationHead()(output_node)
    output_node2 = ak.RegressionHead()(output_node)

    auto_model = ak.AutoModel(
        inputs=[input_node1, input_node2],
        outputs=[output_node1, output_node2],
        overwrite=True,
        max_trials=2,
        directory=tmp_path,
    )
    auto_model.fit([image_data, structured_data], [classification_target, regression_target], epochs=1, verbose=0)
    labels, values = auto_model.predict([image_data, structured_data])
    assert labels.shape == (64, 1) and values.shape == (64, 1)


def text_table_frame(num=48, seed=0):
    rng = np.random.default_rng(seed)
    words = ["space", "love", "war", "robot", "ghost", "laugh", "ship", "kiss"]
    frame = pd.DataFrame(
        {
            "overview": [" ".join(rng.choice(words, 6)) for _ in range(num)],
            "country": rng.choice(["US", "FR", "JP"], num),
            "year": rng.integers(1960, 2020, num).astype(float),
            "budget": rng.random(num) * 1e8,
        }
    )
    frame.loc[2, "year"] = np.nan
    frame.loc[3, "country"] = None
    genres = np.stack([frame.overview.str.contains(w) for w in ("space", "love", "war")], axis=1).astype(int)
    return frame, genres


def test_text_and_table_multi_label_from_a_dataframe(tmp_path):
    frame, genres = text_table_frame()
    auto_model = ak.AutoModel(
        inputs=[
            ak.TextInput(name="overview"),
            ak.StructuredDataInput(name="tabular", column_types={"country": "categorical"}),
        ],
        outputs=[ak.ClassificationHead(name="genres", multi_label=True), ak.RegressionHead(name="revenue")],
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
        seed=1,
    )
    x = {"overview": frame["overview"], "tabular": frame[["country", "year", "budget"]]}
    auto_model.fit(x, {"genres": genres, "revenue": frame["budget"] * 3}, epochs=2, verbose=0)
    predicted_genres, revenue = auto_model.predict(x)
    assert predicted_genres.shape == (48, 3) and set(np.unique(predicted_genres)) <= {0, 1}
    thresholds = auto_model.export_model().get_layer("genres").thresholds
    assert len(thresholds) == 3 and all(0 < t < 1 for t in thresholds)
    # De-standardised: predictions live on the target's scale (~1e8), not around 0.
    assert np.abs(revenue).mean() > 1e6


def image_dict_dataset(num=40, batch=None, tuple_form=False):
    rng = np.random.default_rng(0)
    x = {
        "poster": rng.integers(0, 255, (num, 8, 8, 3)).astype("uint8"),
        "overview": np.array([" ".join(rng.choice(["a", "b", "c", "d"], 4)) for _ in range(num)]),
        "tabular": rng.random((num, 4)).astype("float32"),
    }
    y = {"genre": rng.integers(0, 3, num).astype("int64"), "score": (rng.random(num) * 10).astype("float32")}
    if tuple_form:
        ds = tf.data.Dataset.from_tensor_slices(((x["poster"], x["overview"], x["tabular"]), (y["genre"], y["score"])))
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
    return ds.batch(batch) if batch else ds


def pipeline_model(tmp_path, **kwargs):
    return ak.AutoModel(
        inputs=[ak.ImageInput(name="poster"), ak.TextInput(name="overview"), ak.StructuredDataInput(name="tabular")],
        outputs=[ak.ClassificationHead(name="genre", num_classes=3), ak.RegressionHead(name="score")],
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
        seed=0,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.parametrize("batch,tuple_form", [(16, False), (None, True)])
def test_tf_data_datasets_batched_dicts_and_unbatched_tuples(tmp_path, batch, tuple_form):
    ds = image_dict_dataset(batch=batch, tuple_form=tuple_form)
    auto_model = pipeline_model(tmp_path, tuner="random")
    auto_model.fit(ds, epochs=1, verbose=0)  # validation: the last 20%
    genre, score = auto_model.predict(ds)
    assert genre.shape == (40, 1) and score.shape == (40, 1)
    assert set(auto_model.evaluate(ds, return_dict=True)) >= {"genre_loss", "score_loss", "genre_accuracy"}


def test_pipeline_style_fit_with_validation_dataset_and_dict_predict(tmp_path):
    ds = image_dict_dataset(batch=8)
    auto_model = pipeline_model(tmp_path)
    auto_model.fit(ds.take(4), validation_data=ds.skip(4), epochs=1, verbose=0)
    x = next(iter(ds.unbatch().batch(40)))[0]
    genre, score = auto_model.predict({k: v.numpy() for k, v in x.items()})
    assert genre.shape == (40, 1)


def test_string_labels_binary_head_and_class_weight(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.random(60), "b": rng.random(60)})
    labels = np.where(table["a"] > 0.8, "rare", "common")
    auto_model = ak.AutoModel(
        inputs=ak.StructuredDataInput(),
        outputs=ak.ClassificationHead(name="kind", metrics=["accuracy", "auc"]),
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
    )
    auto_model.fit(table, labels, class_weight="balanced", epochs=2, verbose=0)
    predicted = auto_model.predict(table)  # a single head returns the array itself
    assert predicted.shape == (60, 1) and set(predicted.ravel()) <= {"rare", "common"}
    assert auto_model.heads[0].binary and auto_model.heads[0].class_weights[1] > 1


def test_multi_output_regression_and_one_hot_classification(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((50, 6)).astype("float32")
    auto_model = ak.AutoModel(
        inputs=ak.StructuredDataInput(),
        outputs=[ak.RegressionHead(name="pair"), ak.ClassificationHead(name="onehot")],
        max_trials=1,
        overwrite=True,
        directory=tmp_path,
    )
    auto_model.fit(x, [x[:, :2] * 1000, np.eye(4)[rng.integers(0, 4, 50)]], epochs=1, verbose=0)
    pair, onehot = auto_model.predict(x)
    assert pair.shape == (50, 2) and set(onehot.ravel()) <= {0, 1, 2, 3}


def test_the_validation_split_of_rows_sorted_by_class_holds_every_class():
    from components.automl.adapters import split_arrays

    head = ak.ClassificationHead(name="digit")
    y = np.repeat(np.arange(10), 50)  # sorted by class, as MNIST's CSV is: Keras' last fifth would be 8s and 9s
    (train_x, train_y), (val_x, val_y) = split_arrays({"x": np.arange(500)}, {"digit": y}, 0.2, [head])
    assert np.bincount(val_y["digit"]).tolist() == [10] * 10
    assert sorted(np.concatenate([train_x["x"], val_x["x"]])) == list(range(500))
    again = split_arrays({"x": np.arange(500)}, {"digit": y}, 0.2, [head])[1][0]["x"]
    assert again.tolist() == val_x["x"].tolist(), "the same rows every time: the split draws with a fixed seed"
    # no classification head: a seeded random fifth, not the last rows
    (_, _), (val_x, _) = split_arrays(
        {"x": np.arange(500)}, {"r": np.arange(500.0)}, 0.2, [ak.RegressionHead(name="r")]
    )
    assert len(val_x["x"]) == 100 and val_x["x"].min() < 300


def test_the_validation_split_keeps_its_size_when_every_class_has_one_row():
    from components.automl.adapters import split_arrays

    head = ak.ClassificationHead(name="name")
    (train_x, _), (val_x, _) = split_arrays({"x": np.arange(10)}, {"name": np.arange(10)}, 0.2, [head])
    assert len(val_x["x"]) == 2 and len(train_x["x"]) == 8


def _examples(ds):
    return [tf.nest.map_structure(lambda t: np.asarray(t.numpy()).tolist(), e) for e in ds]


def test_examples_cached_in_chunks_come_back_as_cached_one_by_one():
    from components.automl.auto_model import CACHE_CHUNK_ROWS, cached_in_chunks

    rows = 2 * CACHE_CHUNK_ROWS + 7  # two full chunks and a partial one
    rng = np.random.default_rng(0)
    x = {
        "number": rng.random(rows).astype("float32"),
        "pixels": rng.random((rows, 2, 3)).astype("float32"),
        "text": np.array([f"row {i}" for i in range(rows)]),
    }
    y = {"kind": rng.integers(0, 5, rows)}
    encoded = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a, b))
    chunked = cached_in_chunks(encoded)
    assert isinstance(chunked.element_spec, tuple) and chunked.element_spec == encoded.element_spec
    once = _examples(encoded.cache())
    assert _examples(chunked) == once and _examples(chunked) == once  # the same order, epoch after epoch
    # examples of varying shape cannot be chunked: they are cached one by one, unchanged
    ragged = tf.data.Dataset.range(5).map(lambda i: tf.range(i))
    assert [e.tolist() for e in cached_in_chunks(ragged).as_numpy_iterator()] == [list(range(i)) for i in range(5)]
