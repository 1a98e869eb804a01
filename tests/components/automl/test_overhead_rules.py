"""Frozen pretrained features cost nothing until a trial's configuration reads them (benchmarks/overhead.py)."""

import numpy as np
import pytest

import components as ak
from components.encoders import is_available

pytestmark = pytest.mark.skipif(not is_available("efficientnet_lite0"), reason="needs the pretrained extra")


def _tutorial(rows: int = 24):
    rng = np.random.default_rng(0)
    images = rng.random((rows, 16, 16, 3)).astype("float32")
    table = rng.random((rows, 4)).astype("float32")
    return images, table, rng.random((rows, 1)).astype("float32"), rng.integers(0, 3, (rows, 1))


def test_a_search_that_never_picks_the_frozen_encoder_embeds_nothing(tmp_path):
    images, table, scores, labels = _tutorial()
    model = ak.AutoModel(
        inputs=[ak.ImageInput(name="image"), ak.StructuredDataInput(name="table")],
        outputs=[ak.RegressionHead(name="score"), ak.ClassificationHead(name="label")],
        max_trials=1,
        directory=tmp_path,
        overwrite=True,
        seed=0,
    )
    # the option stays in the graph and the search space ...
    assert [n.name for n in model.inputs] == ["image", "table", "image__efficientnet_lite0"]
    model.fit([images, table], [scores, labels], epochs=1, verbose=0)
    assert model.leaderboard()[0]["hyperparameters"]["encoder_choice_1/encoder"] == "scratch"
    # ... but no row went through the encoder, in the search or when predicting
    predicted_scores, predicted_labels = model.predict([images, table])
    assert model.embedder.computed_rows == 0 and not model.embedder.fed
    assert predicted_scores.shape == (24, 1) and np.isfinite(predicted_scores).all()
    assert set(predicted_labels.ravel()) <= {0, 1, 2}
    assert set(model.evaluate([images, table], [scores, labels], return_dict=True)) >= {"score_loss", "label_loss"}
    assert not list((tmp_path / "_embeddings").glob("*.npy"))


def test_an_image_search_whose_portfolio_reaches_pretrained_embeds_and_reads_the_features(tmp_path):
    images, _, _, labels = _tutorial()
    model = ak.AutoModel(
        inputs=ak.ImageInput(name="image"),
        outputs=ak.ClassificationHead(name="label"),
        max_trials=2,
        directory=tmp_path,
        overwrite=True,
        seed=0,
    )
    model.fit(images, labels, epochs=1, batch_size=8, verbose=0)
    encoders = [row["hyperparameters"]["encoder_choice_1/encoder"] for row in model.leaderboard()]
    assert sorted(encoders) == ["pretrained", "scratch"]  # the portfolio: a small CNN, then frozen features
    assert model.embedder.computed_rows == 24  # training and validation rows, once
    vector = model.graph.frozen[0].vector
    assert len(vector.stats["mean"]) == 1280  # fitted on the training vectors before the trial was built
    # predicting embeds the rows exactly when the final model reads the features
    reads = model.embedder.fed
    probabilities = model.predict_proba(images)
    assert probabilities.shape == (24, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert model.embedder.computed_rows == 24 + (24 if reads else 0)


def test_an_image_search_of_one_trial_does_not_reach_the_pretrained_candidate(tmp_path):
    images, _, _, labels = _tutorial()
    model = ak.AutoModel(
        inputs=ak.ImageInput(name="image"),
        outputs=ak.ClassificationHead(name="label"),
        max_trials=1,
        directory=tmp_path,
        overwrite=True,
        seed=0,
    )
    model.fit(images, labels, epochs=1, batch_size=8, verbose=0)
    assert model.embedder.computed_rows == 0


def test_a_frozen_encoder_chosen_by_the_portfolio_feeds_the_final_model(tmp_path):
    images, _, _, labels = _tutorial()
    model = ak.AutoModel(
        inputs=ak.ImageInput(name="image"),
        outputs=ak.ClassificationHead(name="label"),
        max_trials=1,
        directory=tmp_path,
        overwrite=True,
        seed=0,
        portfolio=["pretrained"],
    )
    model.fit(images, labels, epochs=1, batch_size=8, verbose=0)
    assert model.leaderboard()[0]["hyperparameters"]["encoder_choice_1/encoder"] == "pretrained"
    assert model.embedder.fed and model.embedder.computed_rows == 24
    raw = model.model_inputs(images[:4])
    np.testing.assert_allclose(
        model.export_model().predict(raw["image"], verbose=0), model.predict_proba(images[:4]), atol=1e-4
    )
