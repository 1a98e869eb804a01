"""The default graph's frozen pretrained encoders: searched (text first), cached, exported with the encoders inside."""

import numpy as np
import pytest
import tensorflow as tf

import components as ak
from components.errors import InputError

pytestmark = pytest.mark.slow

WORDS = np.array(["a happy sunny day", "a sad rainy night", "joy and light", "grief and rain"])


def _data(rows: int = 24):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, rows)
    texts = WORDS[labels + 2 * rng.integers(0, 2, rows)]
    images = (rng.random((rows, 16, 16, 1)) * 255).astype("float32")  # grayscale, smaller than the encoder's 32
    return texts, images, labels


def test_default_graph_tries_pretrained_first_and_exports_raw_inputs(tmp_path):
    texts, images, labels = _data()
    model = ak.AutoModel(
        inputs=[ak.TextInput(name="text"), ak.ImageInput(name="image")],
        outputs=ak.ClassificationHead(name="mood"),
        max_trials=1,
        directory=tmp_path,
        overwrite=True,
        seed=0,
        ensemble_size=1,
    )
    assert [n.name for n in model.inputs] == ["text", "image", "text__minilm", "image__efficientnet_lite0"]
    model.fit([texts, images], labels, epochs=8, batch_size=8, verbose=0)
    first = model.leaderboard()[-1]["hyperparameters"]
    # text: pretrained first; images: scratch first (pretrained image features overfit small sets)
    assert [v for k, v in first.items() if k.endswith("/encoder")] == ["pretrained", "scratch"]
    assert (np.asarray(model.predict([texts, images])).reshape(-1) == labels).mean() >= 0.9

    exported = model.export_model()
    assert [t.name.split(":")[0] for t in exported.inputs] == ["text", "image"]
    assert exported.get_layer("mood") is model.model.get_layer("mood")
    path = tmp_path / "model.keras"
    exported.save(path)
    again = ak.load_model(path)
    raw = model.model_inputs([texts[:6], images[:6]])
    # the exported model runs the float32 Keras encoder; frozen embeddings come from the bfloat16 graph
    # where the CPU has bfloat16 matmuls (cosine >= 0.9999 to float32: encoders/frozen_text.py)
    np.testing.assert_allclose(
        again.predict([raw["text"], raw["image"]], verbose=0),
        model.predict_proba([texts[:6], images[:6]])[:, 1:],
        atol=1e-3,
    )


def test_embeddings_are_cached_on_disk_across_searches(tmp_path):
    texts, _, labels = _data()
    runs = []
    for _ in range(2):
        model = ak.AutoModel(
            inputs=ak.TextInput(name="text"),
            outputs=ak.ClassificationHead(name="mood"),
            max_trials=1,
            directory=tmp_path,
            overwrite=True,
            seed=0,
        )
        model.fit(texts, labels, epochs=1, batch_size=8, verbose=0)
        runs.append(model.embedder.computed_rows)
    assert runs[0] > 0 and runs[1] == 0
    assert list((tmp_path / "_embeddings").glob("minilm-*.npy"))


def test_a_dataset_gets_the_same_embeddings_as_arrays(tmp_path):
    texts, _, labels = _data(16)
    model = ak.AutoModel(
        inputs=ak.TextInput(name="text"),
        outputs=ak.ClassificationHead(name="mood"),
        max_trials=1,
        directory=tmp_path,
        overwrite=True,
        seed=0,
    )
    model.fit(tf.data.Dataset.from_tensor_slices((texts, labels)).batch(4), epochs=1, verbose=0)
    from_dataset = model.predict_proba(tf.data.Dataset.from_tensor_slices(texts).batch(4))
    np.testing.assert_allclose(from_dataset, model.predict_proba(texts), atol=1e-5)


def test_pretrained_false_keeps_the_scratch_graph(tmp_path):
    model = ak.AutoModel(
        inputs=ak.TextInput(name="text"), outputs=ak.ClassificationHead(), pretrained=False, directory=tmp_path
    )
    assert [n.name for n in model.inputs] == ["text"]
    with pytest.raises(InputError, match="pretrained="):
        ak.AutoModel(inputs=ak.TextInput(), outputs=ak.ClassificationHead(), pretrained="yes", directory=tmp_path)
