"""The library's per-head choice (`head_models`): the searched network, a gradient-boosted model of the
same table, or their blend, chosen on the validation rows; `predict` and `evaluate` answer with it,
`export_model()` stays the network alone."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import components as ak
from components.errors import InputError


@pytest.fixture
def fast(tmp_path):
    return dict(max_trials=1, overwrite=True, seed=0, directory=str(tmp_path))


def quadrants(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """An XOR of two signs (trees split it in two steps; a tiny network learns nothing of it in one
    epoch) and a categorical column of noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"a": rng.uniform(-1, 1, n), "b": rng.uniform(-1, 1, n), "colour": rng.choice(["red", "blue"], n)}
    )
    return frame, np.where((frame["a"] > 0) != (frame["b"] > 0), "yes", "no")


def test_a_classifier_serves_the_trees_where_they_win_and_exports_the_network(fast):
    x, y = quadrants(400, seed=0)
    test_x, test_y = quadrants(200, seed=1)
    clf = ak.StructuredDataClassifier(head_models="auto", **fast)
    clf.fit(x, y, epochs=1, verbose=0)
    head = clf.heads[0].name
    choice = clf.head_choices[head]
    assert choice.choice in ("classical", "blend"), choice.explain()
    assert choice.validation["classical_loss"] < choice.validation["network_loss"]
    assert "HistGradientBoostingClassifier" in choice.explain()

    served = (clf.predict(test_x).ravel() == test_y).mean()
    network = clf.export_model().predict(clf.model_inputs(test_x), verbose=0)  # P(yes): the network alone
    network_accuracy = (np.where(network.ravel() >= 0.5, "yes", "no") == test_y).mean()
    assert served >= 0.85 and served > network_accuracy + 0.1
    _, accuracy = clf.evaluate(test_x, test_y)
    assert accuracy == pytest.approx(served, abs=1e-6), "evaluate scores what predict answers"
    proba = clf.predict_proba(test_x)
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_a_regressor_serves_the_trees_on_a_step_and_network_mode_keeps_the_network(fast):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 3)).astype("float32")
    y = 10.0 * (x[:, 0] > 0.2) + 0.1 * rng.normal(size=300)
    reg = ak.StructuredDataRegressor(metrics=["mae"], **fast)  # "auto" is the default
    reg.fit(x[:240], y[:240], epochs=1, verbose=0)
    choice = reg.head_choices[reg.heads[0].name]
    assert choice.choice in ("classical", "blend"), choice.explain()
    served = np.abs(reg.predict(x[240:]).ravel() - y[240:]).mean()
    network = np.abs(reg.export_model().predict(x[240:], verbose=0).ravel() - y[240:]).mean()
    assert served < 0.5 * network
    assert reg.evaluate(x[240:], y[240:])[1] == pytest.approx(served, rel=1e-4)
    shuffled = tf.data.Dataset.from_tensor_slices((x[240:], y[240:])).shuffle(60, seed=1).batch(8)
    assert reg.evaluate(shuffled)[1] == pytest.approx(served, rel=1e-4), "one pass: rows keep their targets"

    plain = ak.StructuredDataRegressor(metrics=["mae"], head_models="network", **fast)
    plain.fit(x[:240], y[:240], epochs=1, verbose=0)
    kept = plain.head_choices[plain.heads[0].name]
    assert kept.choice == "network" and "not tried" in kept.explain()
    np.testing.assert_allclose(
        plain.predict(x[240:]), plain.export_model().predict(x[240:], verbose=0), rtol=1e-5, atol=1e-5
    )


def test_an_unknown_head_models_value_is_refused_before_any_data_is_read():
    with pytest.raises(InputError, match="head_models='trees'"):
        ak.StructuredDataClassifier(head_models="trees")
    with pytest.raises(InputError, match="head_models"):
        ak.AutoModel(inputs=ak.StructuredDataInput(), outputs=ak.RegressionHead(), head_models="gbm")
