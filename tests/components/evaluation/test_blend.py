"""Per head, the network, the classical model or their blend, chosen by validation loss (the rule the
pipeline and the library share)."""

import numpy as np
import pandas as pd
import pytest

from components.errors import InputError
from components.evaluation.blend import Blend, HeadChoice, choose, choose_head_model
from components.evaluation.classical import ClassicalColumns, train_classical


def squared_error(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean((truth - predicted) ** 2))


def test_auto_keeps_the_better_model_or_blends_two_that_err_independently():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(400, 1))
    good, noise = truth + 0.1 * rng.normal(size=truth.shape), rng.normal(size=truth.shape)
    known = np.ones(len(truth), bool)
    head = squared_error
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
        "y": choose(squared_error, np.zeros((60, 1)), np.ones(60, bool), np.zeros((60, 1)), np.ones((60, 1)), "blend")
    }
    network = np.zeros((60, 1))
    out = Blend(choices, {"y": model}).apply({"y": network, "other": np.ones(3)}, rows)
    weight = choices["y"].network_weight
    assert out["y"].shape == (60, 1)
    np.testing.assert_allclose(out["y"][:, 0], (1 - weight) * model.predict_rows(rows))
    assert out["other"] is not None and len(out["other"]) == 3, "heads without a choice pass through"


def test_choose_head_model_fits_the_classical_model_and_refits_what_it_serves():
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"x": rng.uniform(-1, 1, 300)})
    y = (rows["x"].to_numpy() > 0.3).astype(float)  # a step: trees fit it, a constant "network" cannot
    columns = ClassicalColumns(numbers=("x",))
    inputs = columns.inputs(rows)
    train, val = np.arange(200), np.arange(200, 300)

    def served_with(network: np.ndarray, **refit):
        return choose_head_model(
            "regression",
            squared_error,
            inputs.take(train),
            y[train],
            inputs.take(val),
            y[val].reshape(-1, 1),
            np.ones(100, bool),
            network,
            "auto",
            columns=columns,
            **refit,
        )

    # refitted on other targets (all rows + 100), so the served model shows it was refitted
    served = served_with(np.full((100, 1), y[train].mean()), refit_on=(inputs, y + 100.0))
    assert served.choice.choice in ("classical", "blend") and served.model is not None
    assert served.choice.validation["classical_loss"] < 0.5 * served.choice.validation["network_loss"]
    assert served.model.predict_rows(rows.iloc[val]).min() > 99.0
    assert "HistGradientBoostingRegressor" in served.choice.explain()
    kept = served_with(y[val].reshape(-1, 1))
    assert kept.choice.choice == "network" and kept.model is None, "a perfect network keeps the head"


def test_an_unknown_mode_is_refused_by_name():
    with pytest.raises(InputError, match="head_models='trees'"):
        choose(squared_error, np.zeros(3), np.ones(3, bool), np.zeros(3), np.zeros(3), "trees")
    assert HeadChoice("network", 1.0, classical="none (no table input)").explain() == (
        "network: classical model none (no table input)"
    )
