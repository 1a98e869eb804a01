"""Warm starts: earlier nights' best configurations run first, fitted to tonight's search space."""

import keras_tuner as kt
import numpy as np
import pytest

import components as ak
from components.automl.tuners import fit_to_space, tuner_class
from components.errors import InputError


def small_space() -> kt.HyperParameters:
    space = kt.HyperParameters()
    space.Choice("units", [64, 32, 128])
    space.Choice("dropout", [0.0, 0.25])
    space.Int("layers", 1, 3)
    space.Float("rate", 1e-4, 1e-1, sampling="log", default=1e-2)
    space.Boolean("batchnorm", default=False)
    return space


# ---------- fit_to_space ----------


def test_fit_to_space_keeps_valid_values_drops_stale_names_and_defaults_invalid_ones():
    fitted = fit_to_space(
        {
            "units": 32,
            "dropout": 0.5,
            "layers": 2,
            "rate": 3e-3,
            "batchnorm": True,
            "old_block/filters": 16,
            "tuner/epochs": 3,
        },
        small_space(),
    )
    assert fitted == {"units": 32, "dropout": 0.0, "layers": 2, "rate": 3e-3, "batchnorm": True}


def test_fit_to_space_replaces_out_of_range_and_wrongly_typed_values_by_defaults():
    fitted = fit_to_space({"units": "32", "layers": 7, "rate": 0.5, "batchnorm": 1}, small_space())
    assert fitted == {"units": 64, "dropout": 0.0, "layers": 1, "rate": 1e-2, "batchnorm": False}
    # A value read back from JSON (32.0 for an int) becomes the Choice's own value.
    fitted = fit_to_space({"units": 32.0, "layers": 3.0, "rate": float("nan")}, small_space())
    assert type(fitted["units"]) is int and fitted["units"] == 32 and fitted["layers"] == 3 and fitted["rate"] == 1e-2


def test_fit_to_space_of_nothing_is_every_default():
    assert fit_to_space({}, small_space()) == {
        "units": 64,
        "dropout": 0.0,
        "layers": 1,
        "rate": 1e-2,
        "batchnorm": False,
    }


def test_fit_to_space_sets_conditional_hyperparameters_only_when_active():
    space = kt.HyperParameters()
    space.Choice("encoder", ["cnn", "rnn"])
    with space.conditional_scope("encoder", ["rnn"]):
        space.Int("rnn_units", 8, 64, step=8, default=16)
    assert fit_to_space({"encoder": "cnn", "rnn_units": 32}, space) == {"encoder": "cnn"}
    assert fit_to_space({"encoder": "rnn", "rnn_units": 32}, space) == {"encoder": "rnn", "rnn_units": 32}
    assert fit_to_space({"encoder": "rnn"}, space) == {"encoder": "rnn", "rnn_units": 16}
    # An invalid parent falls back to its default first, and the children follow that default.
    assert fit_to_space({"encoder": "gru", "rnn_units": 32}, space) == {"encoder": "cnn"}


# ---------- every oracle, driven by hand (no training) ----------


def make_oracle(name: str, tmp_path, warm_start, max_trials=5, project="search"):
    oracle = tuner_class(name).make_oracle(
        max_trials,
        3,
        objective=kt.Objective("loss", "min"),
        seed=1,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=10,
    )
    oracle.update_space(small_space())
    oracle._set_project_dir(str(tmp_path), project)
    oracle.warm_start = list(warm_start)
    return oracle


def run_trial(oracle, loss: float):
    trial = oracle.create_trial("tuner0")
    if trial.status != "RUNNING":
        return None
    oracle.update_trial(trial.trial_id, {"loss": loss})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    oracle.save()  # as the tuner's on_trial_end does, once the trial is no longer ongoing
    return trial


def searched(values: dict) -> dict:
    return {k: v for k, v in values.items() if not k.startswith("tuner/")}


WARM = [
    {"units": 128, "dropout": 0.25, "layers": 2, "rate": 3e-3, "batchnorm": True},
    {"units": 32, "stale": 1},
    {"units": 128, "dropout": 0.25, "layers": 2, "rate": 3e-3, "batchnorm": True, "gone": "x"},
]  # a duplicate of the first once fitted


@pytest.mark.parametrize("tuner", ["greedy", "random", "bayesian", "hyperband"])
def test_each_oracle_runs_the_warm_configurations_first_then_its_own(tmp_path, tuner):
    oracle = make_oracle(tuner, tmp_path, WARM)
    trials = [run_trial(oracle, loss) for loss in (0.1, 0.5, 0.3, 0.4)]
    space = small_space()
    assert [searched(t.hyperparameters.values) for t in trials[:2]] == [
        fit_to_space(WARM[0], space),
        fit_to_space(WARM[1], space),
    ]
    # Hyperband may promote a trial: the same values trained longer (tuner/trial_id names the one continued).
    new = [t for t in trials[2:] if "tuner/trial_id" not in t.hyperparameters.values]
    assert new and all(
        searched(t.hyperparameters.values) not in [searched(w.hyperparameters.values) for w in trials[:2]] for t in new
    )
    assert oracle.warm_trial_ids() == [trials[0].trial_id, trials[1].trial_id]


def test_greedy_after_the_warm_trials_mutates_the_best_warm_one(tmp_path):
    oracle = make_oracle("greedy", tmp_path, WARM[:2])
    best, _ = run_trial(oracle, 0.1), run_trial(oracle, 0.9)
    after = run_trial(oracle, 0.5).hyperparameters.values
    changed = [name for name in after if after[name] != best.hyperparameters.values[name]]
    assert len(changed) == 1


def test_warm_configurations_count_toward_max_trials(tmp_path):
    oracle = make_oracle("greedy", tmp_path, WARM, max_trials=1)
    assert run_trial(oracle, 0.1) is not None and run_trial(oracle, 0.2) is None
    assert list(oracle.trials) == ["0"]


def test_a_reloaded_oracle_does_not_rerun_warm_trials_and_remembers_them(tmp_path):
    first = make_oracle("random", tmp_path, WARM)
    ran = [run_trial(first, 0.2).hyperparameters.values, run_trial(first, 0.1).hyperparameters.values]
    resumed = make_oracle("random", tmp_path, WARM)
    resumed.reload()
    later = run_trial(resumed, 0.3)
    assert later.trial_id == "2" and searched(later.hyperparameters.values) not in [searched(v) for v in ran]
    assert resumed.warm_trial_ids() == ["0", "1"]


def test_warm_start_must_be_a_list_of_dicts():
    for bad, match in ((WARM[0], "list of hyperparameter dicts"), ([WARM[0], "units=32"], r"warm_start\[1\]")):
        with pytest.raises(InputError, match=match):
            ak.AutoModel(inputs=ak.StructuredDataInput(), outputs=ak.RegressionHead(), warm_start=bad)


# ---------- AutoModel end to end (64 rows, 1 epoch a trial) ----------


def table_data(num=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((num, 4)).astype("float32")
    return x, x[:, :1] * 2 + x[:, 1:2]


class Begun:
    def __init__(self):
        self.values = []

    def on_trial_begin(self, trial_id, hyperparameters):
        self.values.append((trial_id, hyperparameters))


def regressor(tmp_path, warm_start=None, tuner="greedy", max_trials=3, overwrite=True, observers=()):
    """A table-only search without the table portfolio (`portfolio=[]`): warm starts alone, then the tuner."""
    return ak.AutoModel(
        inputs=ak.StructuredDataInput(name="table"),
        outputs=ak.RegressionHead(name="value"),
        max_trials=max_trials,
        tuner=tuner,
        directory=tmp_path,
        project_name="night",
        seed=0,
        overwrite=overwrite,
        ensemble_size=1,
        warm_start=warm_start,
        observers=list(observers),
        portfolio=[],
    )


BLOCK = "structured_data_block_1/dense"
# The table's numeric encoding: not in last night's configurations, so tonight's default fills it in.
ENCODING = {"structured_data_block_1/encoder/numeric_encoding": "piecewise"}
LAST_NIGHT = [
    {f"{BLOCK}/num_layers": 2, f"{BLOCK}/num_units": 32, f"{BLOCK}/dropout": 0.25, "learning_rate": 0.003},
    {
        f"{BLOCK}/num_layers": 2,
        f"{BLOCK}/num_units": 32,
        f"{BLOCK}/dropout": 0.25,
        "learning_rate": 0.003,
        "retired_block/filters": 8,
    },  # the same once fitted: skipped
    {f"{BLOCK}/num_layers": 5, f"{BLOCK}/num_units": 128, "old_text_block/ngrams": 2},  # 5 layers is no longer valid
]


def test_a_search_starts_from_last_nights_configurations(tmp_path):
    x, y = table_data()
    begun = Begun()
    auto_model = regressor(tmp_path, LAST_NIGHT, observers=[begun])
    auto_model.fit(x, y, epochs=1, verbose=0)
    values = [v for _, v in begun.values]
    assert values[0] == {**ENCODING, **LAST_NIGHT[0]}
    assert values[1] == {
        **ENCODING,
        f"{BLOCK}/num_layers": 1,
        f"{BLOCK}/num_units": 128,
        f"{BLOCK}/dropout": 0.0,
        "learning_rate": 0.01,
    }
    assert len(values) == 3 and values[2] not in values[:2]  # greedy goes on from the best of the two
    board = {row["trial_id"]: row for row in auto_model.leaderboard()}
    assert [board[t]["warm"] for t in ("0", "1", "2")] == [True, True, False]
    assert all(row["status"] == "COMPLETED" for row in board.values())


def test_a_resumed_search_does_not_rerun_its_warm_trials(tmp_path):
    x, y = table_data()
    regressor(tmp_path, LAST_NIGHT, max_trials=2).fit(x, y, epochs=1, verbose=0)
    begun = Begun()
    resumed = regressor(tmp_path, LAST_NIGHT, max_trials=3, overwrite=False, observers=[begun])
    resumed.fit(x, y, epochs=1, verbose=0)
    assert [trial_id for trial_id, _ in begun.values] == ["2"]
    assert begun.values[0][1] not in [
        {**ENCODING, **LAST_NIGHT[0]},
        fit_to_space(LAST_NIGHT[2], resumed.tuner.oracle.hyperparameters),
    ]
    assert {row["trial_id"]: row["warm"] for row in resumed.leaderboard()} == {"0": True, "1": True, "2": False}


def test_without_warm_start_the_first_trial_is_all_defaults(tmp_path):
    x, y = table_data()
    auto_model = regressor(tmp_path, None, max_trials=1)
    auto_model.fit(x, y, epochs=1, verbose=0)
    (row,) = auto_model.leaderboard()
    space = auto_model.tuner.oracle.hyperparameters.space
    assert row["hyperparameters"] == {hp.name: hp.default for hp in space} and row["warm"] is False


def test_hyperband_takes_warm_configurations_as_its_first_candidates(tmp_path):
    x, y = table_data()
    auto_model = regressor(tmp_path, LAST_NIGHT[:1], tuner="hyperband", max_trials=2)
    auto_model.fit(x, y, epochs=2, verbose=0)
    board = {row["trial_id"]: row for row in auto_model.leaderboard()}
    assert searched(board["0"]["hyperparameters"]) == {**ENCODING, **LAST_NIGHT[0]} and board["0"]["warm"]
    assert board["0"]["hyperparameters"]["tuner/epochs"] >= 1 and not board["1"]["warm"]
