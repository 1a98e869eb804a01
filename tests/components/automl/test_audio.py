"""AudioInput, the in-model log mel layer and AudioBlock: clips in as files, bytes or waveforms, log mels
computed inside the model (the same numbers as numpy's, saved and loaded), and an AudioClassifier that
tells two spoken words apart."""

import base64

import keras
import keras_tuner as kt
import numpy as np
import pytest

import components as ak
from components.automl.adapters import convert_audio, fit_node
from components.automl.blocks.audio import LogMel, SpecAugment
from components.errors import DataError
from components.features.audio import log_mel, mel_stats
from tests.speech import speak, spoken_words


def test_clips_as_paths_bytes_and_data_uris_become_waveforms_of_the_trained_length(tmp_path):
    path = speak(tmp_path / "go.wav", "go")
    data_uri = "data:audio/wav;base64," + base64.b64encode(path.read_bytes()).decode()
    node = ak.AudioInput(sample_rate=8000, name="clip")
    first = convert_audio(node, [str(path), path.read_bytes(), data_uri])
    assert first.shape[0] == 3 and first.shape[1] % 800 == 0  # whole tenths of a second
    np.testing.assert_array_equal(first[0], first[1])
    np.testing.assert_array_equal(first[0], first[2])
    fit_node(node, first)
    assert node.shape == (first.shape[1],) and node.stats["sample_rate"] == 8000 and len(node.stats["mean"]) == 64
    assert convert_audio(node, np.zeros((2, 100), "float32")).shape == (2, first.shape[1])  # padded
    with pytest.raises(DataError, match="row 1: the clip cannot decode as audio"):
        convert_audio(node, [str(path), b"not audio"])


def test_the_log_mel_layer_gives_numpy_s_numbers_and_survives_save_and_load(tmp_path):
    rate = 16000
    waves = np.random.default_rng(0).normal(0, 0.1, size=(3, rate)).astype("float32")
    stats = mel_stats(waves, rate)
    inputs = keras.Input((rate,))
    model = keras.Model(inputs, LogMel(rate, stats["mean"], stats["std"])(inputs))
    expected = (log_mel(waves, rate) - np.asarray(stats["mean"])) / np.asarray(stats["std"])
    out = model.predict(waves, verbose=0)
    assert out.shape == (3, 98, 64)
    np.testing.assert_allclose(out, expected, atol=2e-3)
    model.save(tmp_path / "logmel.keras")
    again = ak.load_model(tmp_path / "logmel.keras")
    np.testing.assert_allclose(again.predict(waves, verbose=0), out, atol=1e-6)


def test_spec_augment_masks_a_band_and_a_span_only_while_training():
    x = np.ones((4, 50, 16), "float32")
    layer = SpecAugment(max_mels=6, max_frames=0.2, seed=1)
    assert (np.asarray(layer(x, training=False)) == 1).all()
    masked = np.asarray(layer(x, training=True))
    zeros = masked == 0
    assert zeros.any() and not zeros.all(axis=(1, 2)).any()
    for one in zeros:  # every zero lies in a whole masked band of mels or a whole masked span of frames
        bands, spans = one.all(axis=0), one.all(axis=1)
        assert bands.sum() <= 6 and spans.sum() <= 10
        assert (one == (bands[None, :] | spans[:, None])).all()


@pytest.mark.parametrize("block_type", ["cnn", "crnn"])
def test_each_encoder_builds_and_reads_the_waveform(block_type):
    node = ak.AudioInput(sample_rate=8000, name="clip")
    fit_node(node, np.random.default_rng(0).normal(0, 0.1, size=(4, 4000)).astype("float32"))
    block = ak.AudioBlock(block_type=block_type, num_layers=2, filters=8, spec_augment=True, dropout=0.0)
    block.name = "audio"
    tensor = node.keras_input()
    model = keras.Model(tensor, block.build(kt.HyperParameters(), [tensor], [node]))
    waves = np.random.default_rng(1).normal(0, 0.1, size=(2, 4000)).astype("float32")
    out = model.predict(waves, verbose=0)
    assert np.isfinite(out).all() and not np.allclose(out[0], out[1])


def test_an_audio_classifier_tells_two_spoken_words_apart_and_exports_the_waveform_model(tmp_path):
    rows = spoken_words(tmp_path / "clips", ("yes", "no"), per_word=16)
    paths = [str(tmp_path / "clips" / clip) for clip in rows["clip"]]
    train, test = slice(0, 24), slice(24, 32)
    clf = ak.AudioClassifier(sample_rate=8000, max_trials=1, directory=str(tmp_path), overwrite=True, seed=0)
    clf.fit(paths[train], rows["word"][train].to_numpy(), epochs=12, batch_size=8, verbose=0)
    predicted = clf.predict(paths[test]).reshape(-1)
    accuracy = float(np.mean(predicted == rows["word"][test].to_numpy()))
    assert accuracy > 0.5, accuracy  # above chance on unseen voices, speeds, pitches
    model = clf.export_model()
    model.save(tmp_path / "m.keras")
    waves = convert_audio(clf.inputs[0], paths[test])
    assert model.inputs[0].shape[1:] == waves.shape[1:]
    np.testing.assert_allclose(
        ak.load_model(tmp_path / "m.keras").predict(waves, verbose=0), model.predict(waves, verbose=0), atol=1e-5
    )
