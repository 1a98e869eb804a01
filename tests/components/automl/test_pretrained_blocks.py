"""Pretrained encoders as AutoKeras-style blocks in a custom graph: fit, predict, export, reload."""

import numpy as np
import pytest
import tensorflow as tf

import components as ak

pytestmark = pytest.mark.slow

WORDS = np.array(["a happy sunny day", "a sad rainy night"])


def test_a_frozen_text_encoder_separates_sentences_at_once(tmp_path):
    labels = np.random.default_rng(0).integers(0, 2, 24)
    text = ak.TextInput(name="text")
    head = ak.ClassificationHead(name="mood")(ak.PretrainedTextEncoder()(text))
    model = ak.AutoModel(inputs=text, outputs=head, max_trials=1, directory=tmp_path, overwrite=True, seed=0)
    model.fit(WORDS[labels], labels, epochs=5, batch_size=8, verbose=0)
    assert (np.asarray(model.predict(WORDS[labels])).reshape(-1) == labels).mean() >= 0.9


def test_text_and_image_encoders_export_frozen_and_reload(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 16)
    images = (rng.random((16, 32, 32, 3)) * 255).astype("float32")
    text, image = ak.TextInput(name="text"), ak.ImageInput(name="image")
    merged = ak.Merge(merge_type="concatenate")([ak.PretrainedTextEncoder()(text), ak.PretrainedImageEncoder()(image)])
    head = ak.ClassificationHead(name="mood")(merged)
    model = ak.AutoModel(inputs=[text, image], outputs=head, max_trials=1, directory=tmp_path, overwrite=True, seed=0)
    model.fit([WORDS[labels], images], labels, epochs=1, batch_size=8, verbose=0)
    exported = model.export_model()
    encoders = [layer for layer in exported.layers if layer.name.endswith(("_minilm", "_efficientnet_lite0"))]
    assert len(encoders) == 2 and not [w for layer in encoders for w in layer.trainable_weights]
    path = tmp_path / "model.keras"
    exported.save(path)
    again = ak.load_model(path)
    x = {"text": tf.constant(WORDS[labels[:4]]), "image": images[:4]}
    inputs = [x[t.name.split(":")[0]] for t in again.inputs]
    np.testing.assert_allclose(again.predict(inputs, verbose=0), exported.predict(inputs, verbose=0), atol=1e-5)
