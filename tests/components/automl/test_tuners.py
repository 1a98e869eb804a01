"""The search: every tuner, observers, time budget, model-size limit, failing trials, seeds."""

import logging
import warnings

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

import components as ak
from components.automl.tuners.base import MIN_BATCH_SIZE, BraidTunerMixin
from components.errors import InputError, SearchError


def table_data(num=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((num, 5)).astype("float32")
    return x, [x[:, :1] * 3 + 1, (x[:, 1] > 0.5).astype(int)]


def table_model(tmp_path, **kwargs):
    options = dict(max_trials=2, overwrite=True, directory=tmp_path, seed=0)
    options.update(kwargs)
    return ak.AutoModel(
        inputs=ak.StructuredDataInput(name="table"),
        outputs=[ak.RegressionHead(name="value", metrics=["mae"]), ak.ClassificationHead(name="flag")],
        **options,
    )


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband", "greedy"])
def test_each_tuner_runs_trials_and_keeps_the_best(tmp_path, tuner):
    x, y = table_data()
    auto_model = table_model(tmp_path, tuner=tuner)
    auto_model.fit(x, y, epochs=2, verbose=0)
    board = auto_model.leaderboard()
    completed = [row for row in board if row["status"] == "COMPLETED"]
    assert 1 <= len(completed) <= 2 and board[0]["score"] == min(r["score"] for r in completed)
    assert auto_model.tuner.oracle.objective.name == "val_combined_loss"


class Recorder:
    def __init__(self):
        self.events = []

    def on_trial_begin(self, trial_id, hyperparameters):
        self.events.append(("begin", trial_id, hyperparameters))

    def on_epoch_end(self, trial_id, epoch, logs):
        self.events.append(("epoch", trial_id, epoch, logs))

    def on_trial_end(self, trial_id, status, metrics, error, model_size, duration_s):
        self.events.append(("end", trial_id, status, metrics, error, model_size, duration_s))


class OnlyEnd:
    def on_trial_end(self, trial_id, status, metrics, error, model_size, duration_s):
        raise RuntimeError("observers must not break the search")


def test_observers_see_every_trial_and_a_broken_observer_is_ignored(tmp_path):
    x, y = table_data()
    recorder = Recorder()
    auto_model = table_model(tmp_path, observers=[recorder, OnlyEnd()], objective="val_flag_accuracy")
    auto_model.fit(x, y, epochs=2, verbose=0)
    begins = [e for e in recorder.events if e[0] == "begin"]
    ends = [e for e in recorder.events if e[0] == "end"]
    epochs = [e for e in recorder.events if e[0] == "epoch"]
    assert [e[1] for e in begins] == [e[1] for e in ends] and len(ends) == 2
    assert all(e[2] == "COMPLETED" and e[4] is None and e[5] > 0 and e[6] > 0 for e in ends)
    assert "val_flag_accuracy" in ends[0][3] and "val_value_mae" in epochs[0][3]
    assert auto_model.tuner.oracle.objective.direction == "max"


def test_time_budget_stops_starting_trials(tmp_path):
    x, y = table_data()
    auto_model = table_model(tmp_path, max_trials=6, time_budget=1.0)
    auto_model.fit(x, y, epochs=1, verbose=0)
    assert 1 <= len(auto_model.leaderboard()) < 6


def test_oversized_models_fail_and_the_reasons_are_surfaced(tmp_path):
    x, y = table_data()
    auto_model = table_model(tmp_path, max_model_size=10)
    with pytest.raises(SearchError, match="Oversized model"):
        auto_model.fit(x, y, epochs=1, verbose=0)


class PoisonFirstTrial(keras.callbacks.Callback):
    """Turns the first trial's weights into NaN; later trials (deep copies) are left alone."""

    trials_seen = []

    def on_train_begin(self, logs=None):
        PoisonFirstTrial.trials_seen.append(1)
        if len(PoisonFirstTrial.trials_seen) == 1:
            for variable in self.model.trainable_variables:
                variable.assign(np.full(variable.shape, np.nan, "float32"))


def test_a_nan_trial_fails_and_the_search_goes_on(tmp_path):
    x, y = table_data()
    recorder = Recorder()
    auto_model = table_model(tmp_path, observers=[recorder])
    auto_model.fit(x, y, epochs=2, verbose=0, callbacks=[PoisonFirstTrial()])
    statuses = [e[2] for e in recorder.events if e[0] == "end"]
    errors = [e[4] for e in recorder.events if e[0] == "end"]
    assert statuses == ["FAILED", "COMPLETED"] and "NaN" in errors[0]
    assert np.isfinite(auto_model.predict(x)[0]).all()


@pytest.mark.slow
@pytest.mark.e2e  # test_reproducibility.py's random case checks the same, more strictly
def test_same_seed_same_search(tmp_path):
    x, y = table_data()
    runs = []
    for name in ("a", "b"):
        auto_model = table_model(tmp_path / name, tuner="random", seed=7)
        auto_model.fit(x, y, epochs=1, verbose=0)
        runs.append(sorted((r["trial_id"], r["score"], str(r["hyperparameters"])) for r in auto_model.leaderboard()))
    assert [r[2] for r in runs[0]] == [r[2] for r in runs[1]]
    assert np.allclose(
        [r[1] for r in runs[0]], [r[1] for r in runs[1]], rtol=1e-2
    )  # same trials; float reductions on CPU threads may differ slightly


@pytest.mark.parametrize("mode", ["uncertainty", "gradnorm", "search"])
def test_each_loss_weighting_mode_trains(tmp_path, mode):
    x, y = table_data()
    auto_model = table_model(tmp_path, max_trials=1, loss_weighting=mode, loss_weights={"value": 2.0})
    auto_model.fit(x, y, epochs=2, verbose=0)
    assert auto_model.leaderboard()[0]["status"] == "COMPLETED"
    if mode == "search":
        assert auto_model.leaderboard()[0]["hyperparameters"]["loss_weighting"] in ("static", "uncertainty", "gradnorm")


@pytest.mark.parametrize("mixed_precision, policy", [(True, "mixed_float16"), ("bfloat16", "mixed_bfloat16")])
def test_refit_and_mixed_precision_keep_float32_outputs(tmp_path, mixed_precision, policy):
    x, y = table_data()
    auto_model = table_model(
        tmp_path, max_trials=1, refit=True, mixed_precision=mixed_precision, distribution_strategy="auto"
    )
    history = auto_model.fit(x, y, epochs=1, verbose=0)
    assert "loss" in history.history
    model = auto_model.export_model()
    # keras-tuner clears the session (and with it the global policy) before each trial: the layers must
    # still be built in the asked policy, searched and refit alike
    assert policy in {layer.dtype_policy.name for layer in model.layers}
    assert all(out.dtype == "float32" for out in model.outputs)
    assert keras.mixed_precision.global_policy().name == "float32"
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = ak.load_model(path)
    assert policy in {layer.dtype_policy.name for layer in reloaded.layers}
    assert all(np.asarray(out).dtype == np.float32 for out in reloaded.predict(x, verbose=0))


def test_mixed_precision_names_a_policy_and_bad_device_options_fail_before_any_data():
    names = {
        option: table_model("unused", mixed_precision=option).precision_policy
        for option in (False, True, "float16", "bfloat16", "mixed_bfloat16")
    }
    assert names == {
        False: None,
        True: "mixed_float16",
        "float16": "mixed_float16",
        "bfloat16": "mixed_bfloat16",
        "mixed_bfloat16": "mixed_bfloat16",
    }
    with pytest.raises(InputError, match="mixed_precision='int8'.*'bfloat16'"):
        table_model("unused", mixed_precision="int8")
    with pytest.raises(InputError, match="distribution_strategy='mirror'.*'mirrored'"):
        table_model("unused", distribution_strategy="mirror")


class OutOfMemory(keras.callbacks.Callback):
    """Raises TensorFlow's out-of-memory error on the first batch of a fit, as a device does when a batch
    does not fit (`times` fits in all); records each fit's steps per epoch, which show its batch size."""

    def __init__(self, times: int):
        super().__init__()
        self.times, self.steps = times, []

    def __deepcopy__(self, memo):  # keras-tuner gives each trial a copy: keep one record
        return self

    def on_train_begin(self, logs=None):
        self.steps.append(self.params["steps"])

    def on_train_batch_begin(self, batch, logs=None):
        if len(self.steps) <= self.times:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor (injected)")


def test_a_trial_out_of_memory_trains_again_at_half_the_batch_size(tmp_path, caplog):
    x, y = table_data(num=60)
    auto_model = table_model(tmp_path, max_trials=1, refit=False)
    callback = OutOfMemory(times=1)
    with caplog.at_level(logging.WARNING, logger="components.automl.tuners.base"):
        auto_model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[callback])
    [trial] = auto_model.leaderboard()
    assert trial["status"] == "COMPLETED"
    assert auto_model.tuner.trial_batch_size(trial["trial_id"]) == 8
    assert callback.steps == [3, 6], "48 training rows: 3 batches of 16, then 6 of 8"
    assert "out of device memory at batch size 16" in caplog.text and "again at batch size 8" in caplog.text
    assert auto_model.tuner.hypermodel.batch_size == 16, "the next trial starts at the planned size"


def test_a_trial_out_of_memory_at_the_floor_fails_naming_the_batch_size(tmp_path):
    x, y = table_data()
    auto_model = table_model(tmp_path, max_trials=1, refit=False)
    with pytest.raises(SearchError, match=f"Out of device memory .* at batch size {MIN_BATCH_SIZE} .planned 8"):
        auto_model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[OutOfMemory(times=10)])


def test_refit_retrains_the_ensemble_members_then_tunes_the_thresholds(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((60, 5)).astype("float32")
    tags = np.stack([x[:, 0] > 0.5, x[:, 1] + x[:, 2] > 1.2], axis=1).astype(int)
    auto_model = ak.AutoModel(
        inputs=ak.StructuredDataInput(name="table"),
        outputs=[ak.RegressionHead(name="value"), ak.ClassificationHead(name="tags", multi_label=True)],
        max_trials=3,
        overwrite=True,
        directory=tmp_path,
        seed=0,
        refit=True,
        ensemble_size=3,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = auto_model.fit(x, [x[:, :1] * 3 + 1, tags], epochs=3, verbose=0)
    # train + validation rows keep their count: Keras need not run out of data to learn the epoch's length
    assert not [w for w in caught if "ran out of data" in str(w.message)]
    best = auto_model.tuner.oracle.get_best_trials(1)[0]
    assert "val_loss" in history.history  # fit answers the best trial's history, as without refit
    assert len(auto_model.refit_history.history["loss"]) == best.best_step + 1  # its epoch count, on all rows
    head = auto_model.heads[1]
    assert head.thresholds is not None and auto_model.model.get_layer("tags").thresholds == head.thresholds
    assert set(auto_model.ensemble_picks) == {"value", "tags"}
    checkpoint = auto_model.tuner.load_model(best).inner
    assert not np.allclose(
        auto_model.model.predict(x, verbose=0)[0], checkpoint.predict(x, verbose=0)[0]
    )  # retrained, not the checkpoint
    predicted = auto_model.predict(x)
    assert predicted[0].shape == (60, 1) and predicted[1].shape == (60, 2)


def test_the_final_model_is_the_trained_trial_at_its_checkpoint_without_loading_it_again(tmp_path, monkeypatch):
    x, y = table_data()
    auto_model = table_model(tmp_path, max_trials=2, ensemble_size=1, refit=False, head_models="network")
    loads = []
    load_model = kt.Tuner.load_model
    monkeypatch.setattr(
        kt.Tuner, "load_model", lambda tuner, trial: loads.append(trial.trial_id) or load_model(tuner, trial)
    )
    auto_model.fit(x, y, epochs=1, verbose=0)  # one epoch: each trial's last epoch is its best
    assert loads == [] and auto_model.tuner.kept == {}  # kept in memory, then handed over or released
    assert auto_model.tuner._built_state is None, "no refit: no copy of a model's state as built"
    best = auto_model.tuner.oracle.get_best_trials(1)[0]
    reloaded = auto_model.tuner.load_model(best).inner  # the same trial, built and loaded from its checkpoint
    np.testing.assert_allclose(
        auto_model.model.predict(x, verbose=0)[0], reloaded.predict(x, verbose=0)[0], rtol=1e-6, atol=1e-6
    )


def test_the_refit_restarts_each_trained_trial_from_its_state_as_built_as_a_new_build_would(tmp_path, monkeypatch):
    x, y = table_data(num=64)
    original = BraidTunerMixin.restart

    def fitted(folder, restart):
        calls = []

        def spy(tuner, trial_id, model):  # restart=False: every refit builds its trial's model again
            calls.append(original(tuner, trial_id, model) if restart else False)
            return calls[-1]

        with monkeypatch.context() as patch:
            patch.setattr(BraidTunerMixin, "restart", spy)
            auto_model = table_model(folder, max_trials=3, ensemble_size=2, refit=True, head_models="network")
            auto_model.fit(x, y, epochs=3, verbose=0)
        return auto_model, calls

    restarted, restarts = fitted(tmp_path / "restarted", restart=True)
    built, builds = fitted(tmp_path / "built", restart=False)
    assert restarts and all(restarts), "every picked trial trained again from its state as built, none built"
    assert len(builds) == len(restarts) and restarted.ensemble_picks == built.ensemble_picks
    for ours, theirs in zip(restarted.predict(x), built.predict(x)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert restarted.tuner.initial_states == {}, "the copies of the states as built are released"


def test_a_hyperband_trial_that_continues_another_is_refit_from_a_new_build(tmp_path, monkeypatch):
    x, y = table_data(num=64)
    original, seen = BraidTunerMixin.restart, []

    def spy(tuner, trial_id, model):
        seen.append((trial_id, original(tuner, trial_id, model)))
        return seen[-1][1]

    monkeypatch.setattr(BraidTunerMixin, "restart", spy)
    auto_model = table_model(tmp_path, tuner="hyperband", max_trials=6, ensemble_size=3, head_models="network")
    auto_model.fit(x, y, epochs=3, verbose=0)
    continues = {
        t.trial_id: "tuner/trial_id" in t.hyperparameters.values for t in auto_model.tuner.oracle.trials.values()
    }
    assert seen and any(continues[trial_id] for trial_id, _ in seen), "a continued trial was picked"
    # its model started from the other trial's checkpoint: no state as built to restart from
    assert all(restarted is not continues[trial_id] for trial_id, restarted in seen)
