"""MiniLM sentence embeddings: deterministic, semantically sensible, robust to odd text, and exportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import components.encoders as enc
from components.errors import InputError
from tests.conftest import PROJECT_ROOT

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs a song on the guitar.",
    "The central bank raised interest rates again.",
    "",
]


def test_embeddings_are_deterministic_unit_vectors(encoders):
    first = enc.embed_texts(SENTENCES)
    second = enc.embed_texts(SENTENCES)
    assert first.shape == (4, 384) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)


def test_close_sentences_are_closer_than_unrelated_ones(encoders):
    guitar, song, bank, _ = enc.embed_texts(SENTENCES)
    assert guitar @ song > 0.5
    assert guitar @ song > guitar @ bank + 0.3


def test_batch_size_does_not_change_the_vectors(encoders):
    np.testing.assert_allclose(enc.embed_texts(SENTENCES, batch_size=1), enc.embed_texts(SENTENCES), atol=1e-5)


def test_empty_whitespace_and_unicode_text_embed(encoders):
    vectors = enc.embed_texts(["", "   ", "naïve café 東京 🎉\n\t"])
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)  # whitespace tokenizes to nothing
    assert enc.embed_texts([]).shape == (0, 384)


def test_text_beyond_max_length_is_truncated(encoders):
    prefix = "word " * 200
    cats, money = enc.embed_texts([prefix + "cats and kittens", prefix + "stocks and bonds"])
    np.testing.assert_allclose(cats, money, atol=1e-6)


def test_missing_cells_are_refused_with_a_hint(encoders):
    with pytest.raises(InputError, match=r"texts\[1\].*missing"):
        enc.embed_texts(["fine", None])
    with pytest.raises(InputError, match="max_length"):
        enc.text_encoder(max_length=1000)


def test_model_and_frozen_embeddings_agree(encoders):
    import tensorflow as tf

    from components.encoders.text import _frozen_graph

    served = encoders.text_model.predict(tf.constant(SENTENCES), verbose=0)
    frozen = enc.embed_texts(SENTENCES)
    if _frozen_graph(128).bfloat16:  # bfloat16 matmuls where the CPU has bfloat16 units (AMX, AVX512-BF16)
        assert np.sum(served * frozen, axis=1).min() > 0.9999
    else:
        np.testing.assert_allclose(served, frozen, atol=1e-6)


# Very different token counts (1, a few, ~40, ~90, past the 128-token truncation) so several length buckets.
MIXED = [
    "",
    "Rain.",
    "A retired detective returns to the small coastal town where his brother vanished, and "
    "finds that the villagers he once trusted are hiding a secret that could tear the town apart.",
    "An epic story of two families, " * 12,
    "word " * 300,
    "naïve café 東京 🎉",
    "the end",
]


@pytest.mark.parametrize("bfloat16", [False, True])
def test_graph_path_matches_the_keras_model(encoders, bfloat16):
    from components.encoders.frozen_text import FrozenMiniLM
    from components.encoders.text import _embed_texts_keras, _frozen_encoder

    reference = _embed_texts_keras(MIXED)
    vectors = FrozenMiniLM(_frozen_encoder(128), bfloat16=bfloat16)(MIXED, batch_size=3)
    assert vectors.shape == (len(MIXED), 384) and vectors.dtype == np.float32
    if bfloat16:
        assert np.sum(reference * vectors, axis=1).min() >= 0.999
    else:
        np.testing.assert_allclose(vectors, reference, atol=1e-5)


def test_bucketing_keeps_the_input_order(encoders):
    shuffled = [MIXED[i] for i in (4, 0, 6, 2, 1, 5, 3)]
    together = enc.embed_texts(shuffled, batch_size=2)
    alone = np.concatenate([enc.embed_texts([text]) for text in shuffled])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert np.sum(together * alone, axis=1).min() > 0.99999  # each row is its own text's vector
    assert (together @ together.T - np.eye(len(shuffled))).max() < 0.99  # and the texts differ


def test_matches_sentence_transformers_reference(encoders):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    from components.encoders.text import minilm_dir

    reference = sentence_transformers.SentenceTransformer(str(minilm_dir()), device="cpu")
    reference.max_seq_length = 128
    texts = SENTENCES + ["Crème brûlée in Zürich", "word " * 300]
    expected = reference.encode(texts, normalize_embeddings=True)
    cosine = np.sum(expected * enc.embed_texts(texts), axis=1)
    assert cosine.min() > 0.9999


def test_saved_text_encoder_scores_the_same_in_a_fresh_process(encoders, tmp_path):
    import tensorflow as tf

    path = tmp_path / "minilm.keras"
    encoders.text_model.save(path)
    expected = encoders.text_model.predict(tf.constant(SENTENCES), verbose=0)
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np, tensorflow as tf, keras
        from tests.components.encoders.network_guard import no_network
        with no_network() as attempts:
            import components.encoders
            model = keras.saving.load_model({str(path)!r}, safe_mode=True)
            vectors = model.predict(tf.constant({SENTENCES!r}), verbose=0)
        np.save({str(tmp_path / "vectors.npy")!r}, vectors)
        banned = [name for name in ("mlflow", "prefect", "components.automl", "components.data") if name in sys.modules]
        print(json.dumps({{"attempts": attempts, "banned": banned}}))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"attempts": [], "banned": []}
    np.testing.assert_allclose(np.load(tmp_path / "vectors.npy"), expected, atol=1e-6)


def test_fine_tune_mode_frees_only_the_top_transformer_layers(encoders):
    from components.encoders.text import _unfreeze_top

    backbone = encoders.text_model.get_layer("bert_backbone")
    assert encoders.text_model.trainable_weights == []
    try:
        _unfreeze_top(backbone, 2)
        trainable = {layer.name for layer in backbone.layers if layer.trainable and layer.weights}
        assert trainable == {"transformer_layer_4", "transformer_layer_5"}
        _unfreeze_top(backbone, 6)
        assert "token_embedding" in {layer.name for layer in backbone.layers if layer.trainable}
    finally:
        _unfreeze_top(backbone, 0)
