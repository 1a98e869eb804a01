"""Per head, the network, the classical model or their blend, chosen by validation loss."""

import numpy as np
import pandas as pd

from components.automl.heads import RegressionHead
from components.evaluation.classical import ClassicalColumns, train_classical
from components.pipeline.head_models import choose
from components.serving.blend import Blend


def _regression_head() -> RegressionHead:
    head = RegressionHead(name="y")
    head.std = [1.0]
    return head


def test_auto_keeps_the_better_model_or_blends_two_that_err_independently():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(400, 1))
    good, noise = truth + 0.1 * rng.normal(size=truth.shape), rng.normal(size=truth.shape)
    known = np.ones(len(truth), bool)
    head = _regression_head()
    assert choose(head, truth, known, good, noise, "auto").choice == "network"
    assert choose(head, truth, known, noise, good, "auto").choice == "classical"
    # two models with independent errors of the same size: their average halves the squared error
    a, b = truth + rng.normal(size=truth.shape), truth + rng.normal(size=truth.shape)
    blended = choose(head, truth, known, a, b, "auto")
    assert blended.choice == "blend" and 0.3 <= blended.network_weight <= 0.7
    assert blended.validation["blend_loss"] < 0.6 * min(
        blended.validation["network_loss"], blended.validation["classical_loss"]
    )
    # a mode other than auto takes what it names, with the same figures
    assert choose(head, truth, known, good, noise, "classical").network_weight == 0.0
    assert 0 < choose(head, truth, known, good, noise, "blend").network_weight < 1


def test_a_blend_mixes_the_network_output_with_the_classical_model_of_raw_rows():
    rows = pd.DataFrame({"x": np.arange(60, dtype=float), "when": ["2024-01-02"] * 60, "c": ["a", "b"] * 30})
    columns = ClassicalColumns(numbers=("x",), dates=(("when", None),), categories=("c",))
    model = train_classical("regression", columns.inputs(rows), rows["x"].to_numpy() * 2, columns=columns)
    choices = {
        "y": choose(
            _regression_head(), np.zeros((60, 1)), np.ones(60, bool), np.zeros((60, 1)), np.ones((60, 1)), "blend"
        )
    }
    network = np.zeros((60, 1))
    out = Blend(choices, {"y": model}).apply({"y": network, "other": np.ones(3)}, rows)
    weight = choices["y"].network_weight
    assert out["y"].shape == (60, 1)
    np.testing.assert_allclose(out["y"][:, 0], (1 - weight) * model.predict_rows(rows))
    assert out["other"] is not None and len(out["other"]) == 3, "heads without a choice pass through"
